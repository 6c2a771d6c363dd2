"""compose.yaml, livekit.yaml, livekit-sip.yaml, agent.env: valid for docker-compose and consistent with each other."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import yaml

from agent.config import Settings
from agent.store.backends import is_postgres_url
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text())


def resolved_compose() -> dict[str, Any]:
    """The compose file as docker-compose resolves it (env_file merged, ${VAR:-default} filled in)."""
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (scripts/test installs Debian's docker-compose)")
    done = subprocess.run(
        ["docker-compose", "-f", "compose.yaml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},  # no LIVEKIT_* from the caller's shell
    )
    assert done.returncode == 0, done.stderr
    resolved: dict[str, Any] = yaml.safe_load(done.stdout)
    return resolved


def test_docker_compose_accepts_the_compose_file() -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (scripts/test installs Debian's docker-compose)")
    done = subprocess.run(
        ["docker-compose", "-f", "compose.yaml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_four_services_share_the_host_network() -> None:
    services = resolved_compose()["services"]
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert default == {"redis", "livekit-server", "livekit-sip", "agent"}
    assert all(service["network_mode"] == "host" for service in services.values())
    assert "build" in services["agent"]


def test_the_agent_container_settings_load_and_enable_livekit(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = resolved_compose()["services"]["agent"]["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, "" if value is None else str(value))
    settings = Settings(_env_file=None)
    assert settings.livekit.livekit_enabled and settings.store.state_backend == "redis"
    assert not settings.sip.sip_enabled
    assert settings.livekit.livekit_sip_numbers == ("+15551230000",)
    server, sip = load("livekit.yaml"), load("livekit-sip.yaml")
    assert server["keys"] == {
        settings.livekit.livekit_api_key: settings.livekit.livekit_api_secret.get_secret_value()
    }
    assert (sip["api_key"], sip["api_secret"]) == (
        settings.livekit.livekit_api_key,
        settings.livekit.livekit_api_secret.get_secret_value(),
    )
    assert server["webhook"]["api_key"] == settings.livekit.livekit_api_key
    assert server["webhook"]["urls"] == [f"http://127.0.0.1:{settings.server.port}/livekit/webhook"]
    assert settings.livekit.livekit_url == f"ws://127.0.0.1:{server['port']}" == sip["ws_url"]


def test_livekit_and_livekit_sip_share_redis_and_use_separate_media_ports() -> None:
    server, sip = load("livekit.yaml"), load("livekit-sip.yaml")
    assert server["redis"]["address"] == sip["redis"]["address"]
    low, high = (int(port) for port in str(sip["rtp_port"]).split("-"))
    webrtc = range(server["rtc"]["port_range_start"], server["rtc"]["port_range_end"] + 1)
    assert not set(range(low, high + 1)) & set(webrtc)
    assert sip["sip_port"] == 5060


def test_the_image_carries_what_the_agent_reads_and_every_env_is_a_setting() -> None:
    """Every file the Dockerfile copies from the project exists, every AGENT_* it sets is a real setting, and
    the console's files are where AGENT_CONSOLE_PATH says (an installed package has no project folder)."""
    import re

    text = (ROOT / "Dockerfile").read_text()
    copies = re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE)
    sources = [src for line in copies for src in line.split()[:-1]]
    assert "web_console" in sources
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the project"
    env = dict(re.findall(r"(AGENT_[A-Z_]+)=(\S+)", text))
    for name in env:
        assert name in Settings.environment_names(), f"{name} is no setting"
    assert env["AGENT_CONSOLE_PATH"] == "/app/web_console" and "COPY web_console ./web_console" in text
    assert "web_console/node_modules" in (ROOT / ".dockerignore").read_text()  # the SDK comes from npm ci


def test_the_postgres_profile_serves_the_database_url_agent_env_shows() -> None:
    """The optional PostgreSQL service: a pinned image, its data on a volume, healthy only when it accepts
    connections, on the address, user, password and database that agent.env's example URL names."""
    import re
    from urllib.parse import urlsplit

    postgres = resolved_compose()["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    image, _, tag = postgres["image"].partition(":")
    assert image == "postgres" and re.match(r"\d+\.\d+", tag), postgres["image"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    volumes = [
        str(volume.get("target", volume)) if isinstance(volume, dict) else volume.split(":")[1]
        for volume in postgres["volumes"]
    ]
    assert "/var/lib/postgresql/data" in volumes
    example = re.search(r"^# AGENT_DATABASE_URL=(\S+)$", (ROOT / "agent.env").read_text(), re.MULTILINE)
    assert example is not None
    url = urlsplit(example[1])
    command = " ".join(postgres["command"])
    environment = postgres["environment"]
    assert url.scheme == "postgresql" and f"listen_addresses={url.hostname}" in command
    assert f"port={url.port}" in command
    assert (url.username, url.password) == (environment["POSTGRES_USER"], environment["POSTGRES_PASSWORD"])
    assert url.path == "/" + environment["POSTGRES_DB"]
    assert is_postgres_url(example[1])
    # and by default the agent keeps its SQLite file: the switch is the user's
    agent_environment = resolved_compose()["services"]["agent"]["environment"]
    assert not agent_environment.get("AGENT_DATABASE_URL")
