"""compose.yaml, livekit.yaml, livekit-sip.yaml, agent.env, .env.example: valid for docker-compose, safe, consistent."""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import Settings
from agent.server.production import DEV_LIVEKIT_KEY, DEV_LIVEKIT_SECRET, production_problems
from agent.store.backends import is_postgres_url
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration

# What a dealership puts in .env (the test's own values; compose.yaml has no default for any of them).
SECRETS = {
    "LIVEKIT_API_KEY": "riverside-key",
    "LIVEKIT_API_SECRET": "riverside-secret-0123456789-abcdefghij",
    "AGENT_OPERATOR_TOKEN": "riverside-operator-0123456789",
}
REQUIRED = tuple(SECRETS)
SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|DATABASE_URL)$")
SERVICES = {"redis", "livekit-server", "livekit-sip", "agent"}


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text())


def _empty_env_file() -> Path:
    path = Path(tempfile.gettempdir()) / "dealership-agent-empty.env"
    path.write_text("")
    return path


def compose_config(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (scripts/test installs Debian's docker-compose)")
    return subprocess.run(
        ["docker-compose", "--env-file", str(_empty_env_file()), "-f", "compose.yaml", "config", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # only these variables: nothing from the caller's shell, nor from a developer's own .env
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", **environment},
    )


def resolved_compose(**extra: str) -> dict[str, Any]:
    """The compose file as docker-compose resolves it (env_file merged, ${VAR} filled in from SECRETS)."""
    return copy.deepcopy(_resolved(tuple(sorted(extra.items()))))


@functools.cache
def _resolved(extra: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    done = compose_config({**SECRETS, **dict(extra)})  # about 3 s a run: once per set of variables
    assert done.returncode == 0, done.stderr
    resolved: dict[str, Any] = yaml.safe_load(done.stdout)
    return resolved


def test_docker_compose_accepts_the_compose_file_with_the_secrets_set() -> None:
    assert compose_config(SECRETS, "-q").returncode == 0


@pytest.mark.parametrize("missing", REQUIRED)
def test_compose_refuses_to_start_without_each_secret_and_names_it(missing: str) -> None:
    given = {name: value for name, value in SECRETS.items() if name != missing}
    done = compose_config(given, "-q")
    assert done.returncode != 0
    assert f"set {missing} in .env" in done.stderr
    if missing == "AGENT_OPERATOR_TOKEN":
        empty = compose_config({**given, missing: ""}, "-q")  # an empty value is no value
        assert "set AGENT_OPERATOR_TOKEN in .env" in empty.stderr


def test_no_secret_has_a_default_and_the_dev_pair_is_nowhere() -> None:
    compose_text = (ROOT / "compose.yaml").read_text()
    for name, default in re.findall(r"\$\{(\w+):?[-?]([^}]*)\}", compose_text):
        if SECRET_NAME.search(name) and not default.startswith("set "):
            assert default == "", f"${{{name}}} falls back to {default!r}"
    for name in (
        "compose.yaml",
        "livekit.yaml",
        "livekit-sip.yaml",
        "agent.env",
        ".env.example",
        "Dockerfile",
    ):
        text = (ROOT / name).read_text()
        assert DEV_LIVEKIT_SECRET not in text and f"{DEV_LIVEKIT_KEY}:" not in text, name
    assert "keys" not in load("livekit.yaml") and "api_key" not in load("livekit.yaml")["webhook"]
    assert not {"api_key", "api_secret"} & set(load("livekit-sip.yaml"))
    settings_in_agent_env = re.findall(r"^(AGENT_\w+)=", (ROOT / "agent.env").read_text(), re.M)
    assert not [name for name in settings_in_agent_env if SECRET_NAME.search(name)]


def test_env_example_lists_what_compose_requires() -> None:
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z_]+)=", example, re.M))
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "compose.yaml").read_text()))
    assert required == set(REQUIRED) and required <= listed
    assert (
        ".env" in (ROOT / ".gitignore").read_text().split() and ".env" in (ROOT / ".dockerignore").read_text()
    )


def test_the_four_services_share_the_host_network_and_images_are_exact_releases() -> None:
    services = resolved_compose()["services"]
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert default == SERVICES
    assert all(service["network_mode"] == "host" for service in services.values())
    assert "build" in services["agent"]
    for name, service in services.items():
        image = service["image"]
        tag = image.split("@")[0].rpartition(":")[2]
        pinned = "@sha256:" in image or re.fullmatch(r"v?\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?", tag)
        assert pinned and "latest" not in image, f"{name}: {image} is not an exact release"


def test_services_start_only_once_what_they_need_is_healthy() -> None:
    services = resolved_compose()["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for needed, how in service.get("depends_on", {}).items():
            assert how == {"condition": "service_healthy"}, f"{name} -> {needed}: {how}"
            assert services[needed].get("healthcheck"), needed
    assert set(services["agent"]["depends_on"]) == {"redis", "livekit-server"}
    assert set(services["livekit-sip"]["depends_on"]) == {"redis", "livekit-server"}


def test_docker_waits_longer_than_the_agent_drains() -> None:
    agent = resolved_compose()["services"]["agent"]
    drain_s = float(agent["environment"]["AGENT_DRAIN_TIMEOUT_S"])
    grace = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", agent["stop_grace_period"])
    assert grace is not None
    grace_s = int(grace[1] or 0) * 60 + int(grace[2] or 0)
    assert grace_s >= drain_s + 10, "calls drain, then rows and recordings are saved before SIGKILL"
    assert Settings(_env_file=None).server.drain_timeout_s == drain_s  # the setting's default is the same


def test_the_agent_container_settings_are_safe_production_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    services = resolved_compose()["services"]
    environment = services["agent"]["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, "" if value is None else str(value))
    settings = Settings(_env_file=None)
    assert settings.server.environment == "production" and production_problems(settings) == []
    assert settings.livekit.livekit_enabled and settings.store.state_backend == "redis"
    assert not settings.sip.sip_enabled
    assert settings.store.database_url is None or not settings.store.database_url.get_secret_value()
    assert settings.livekit.livekit_sip_numbers == ("+15551230000",)
    key, secret = SECRETS["LIVEKIT_API_KEY"], SECRETS["LIVEKIT_API_SECRET"]
    assert (settings.livekit.livekit_api_key, settings.livekit.livekit_api_secret.get_secret_value()) == (
        key,
        secret,
    )
    server_env, sip_env = services["livekit-server"]["environment"], services["livekit-sip"]["environment"]
    assert yaml.safe_load(server_env["LIVEKIT_KEYS"]) == {key: secret}  # livekit-server's "key: secret"
    assert server_env["LIVEKIT_WEBHOOK_API_KEY"] == key
    assert (sip_env["LIVEKIT_API_KEY"], sip_env["LIVEKIT_API_SECRET"]) == (key, secret)
    server, sip = load("livekit.yaml"), load("livekit-sip.yaml")
    assert server["webhook"]["urls"] == [f"http://127.0.0.1:{settings.server.port}/livekit/webhook"]
    assert settings.livekit.livekit_url == f"ws://127.0.0.1:{server['port']}" == sip["ws_url"]
    mounted = [str(volume) for volume in services["livekit-sip"]["volumes"]]
    assert sip_env["SIP_CONFIG_FILE"] == "/sip/config.yaml"
    assert any(v.endswith("livekit-sip.yaml:/sip/config.yaml:ro") for v in mounted), mounted


def test_every_setting_in_agent_env_is_a_real_one() -> None:
    names = re.findall(r"^(AGENT_\w+)=", (ROOT / "agent.env").read_text(), re.M)
    assert names and set(names) <= Settings.environment_names()


def test_livekit_and_livekit_sip_share_redis_and_use_separate_media_ports() -> None:
    server, sip = load("livekit.yaml"), load("livekit-sip.yaml")
    assert server["redis"]["address"] == sip["redis"]["address"]
    low, high = (int(port) for port in str(sip["rtp_port"]).split("-"))
    webrtc = range(server["rtc"]["port_range_start"], server["rtc"]["port_range_end"] + 1)
    assert not set(range(low, high + 1)) & set(webrtc)
    assert sip["sip_port"] == 5060 and sip["health_port"] == 8082


def test_the_postgres_profile_serves_the_database_url_env_example_shows() -> None:
    """The optional PostgreSQL service: a pinned image, its data on a volume, healthy only when it accepts
    connections, on the address, user and database that .env.example's URL names, its password from .env."""
    from urllib.parse import urlsplit

    postgres = resolved_compose(POSTGRES_PASSWORD="pg-secret-for-tests")["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    image, _, tag = postgres["image"].partition(":")
    assert image == "postgres" and re.match(r"\d+\.\d+", tag), postgres["image"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    volumes = [
        str(volume.get("target", volume)) if isinstance(volume, dict) else volume.split(":")[1]
        for volume in postgres["volumes"]
    ]
    assert "/var/lib/postgresql/data" in volumes
    example = re.search(r"^# AGENT_DATABASE_URL=(\S+)$", (ROOT / ".env.example").read_text(), re.MULTILINE)
    assert example is not None
    url = urlsplit(example[1])
    command = " ".join(postgres["command"])
    environment = postgres["environment"]
    assert url.scheme == "postgresql" and f"listen_addresses={url.hostname}" in command
    assert f"port={url.port}" in command
    assert url.username == environment["POSTGRES_USER"] and url.password == "<POSTGRES_PASSWORD>"
    assert environment["POSTGRES_PASSWORD"] == "pg-secret-for-tests"
    assert url.path == "/" + environment["POSTGRES_DB"]
    assert is_postgres_url(example[1])
    # without the password in .env the image refuses to initialise: no known default password
    assert resolved_compose()["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == ""
    # and by default the agent keeps its SQLite file: the switch is the user's
    assert not resolved_compose()["services"]["agent"]["environment"].get("AGENT_DATABASE_URL")


def test_a_dotenv_with_composes_variables_does_not_stop_the_agent(tmp_path: Any, monkeypatch: Any) -> None:
    """The .env next to compose.yaml is also read by an agent started from the checkout."""
    (tmp_path / ".env").write_text(
        "".join(f"{name}={value}\n" for name, value in SECRETS.items()) + "POSTGRES_PASSWORD=x\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.server.operator_token is not None
    assert settings.server.operator_token.get_secret_value() == SECRETS["AGENT_OPERATOR_TOKEN"]
