"""As shipped: `pip install .` into a fresh venv (no extras, no helper script) brings all the agent needs to start.

The install uses a local wheelhouse filled from requirements.lock by scripts/wheelhouse (the tests' network
namespace reaches no package index), so it also proves the lock holds every package pyproject.toml resolves to.
Cost: about 70 s to install into the venv (960 MB unpacked) and 20 s for the agent to load its models, on the
2-core machine; scripts/wheelhouse downloads 320 MB once and is free afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.agent_processes import free_port
from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.install]

WHEELHOUSE = Path(
    os.environ.get("AGENT_WHEELHOUSE", Path.home() / ".cache" / "dealership-agent" / "wheelhouse")
)
STARTUP_TIMEOUT_S = 180.0


def _locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {name.lower(): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def _what_the_dockerfile_copies_before_installing() -> list[str]:
    """The project paths the image's `pip install` sees: the COPY lines before the install step."""
    lines = (ROOT / "Dockerfile").read_text().split("\n")
    final_stage = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    install = next(i for i, line in enumerate(lines) if "pip install" in line and "--no-deps ." in line)
    copies = [line.split()[1:-1] for line in lines[final_stage:install] if re.match(r"COPY (?!--from)", line)]
    return [source for sources in copies for source in sources if source != "requirements.lock"]


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not (WHEELHOUSE / ".requirements.lock.sha256").is_file():
        pytest.skip(f"no wheelhouse at {WHEELHOUSE}: run scripts/wheelhouse (scripts/test does)")
    base = tmp_path_factory.mktemp("clean-install")
    source = base / "src"
    source.mkdir()
    for name in _what_the_dockerfile_copies_before_installing():
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name)
        else:
            shutil.copy2(ROOT / name, source / name)
    for cache in source.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(WHEELHOUSE),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_CONSTRAINT": ""},
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    yield venv


def test_the_fresh_venv_holds_exactly_the_locked_packages_and_no_torch(fresh_venv: Path) -> None:
    frozen = subprocess.run(
        [str(fresh_venv / "bin" / "pip"), "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    installed = {
        name.lower().replace("_", "-"): version
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", frozen, re.M)
    }
    assert re.search(r"^dealership[-_]voice[-_]agent @ file:", frozen, re.M | re.I), frozen
    locked = {name.replace("_", "-"): version for name, version in _locked().items()}
    off_the_lock = {name: version for name, version in installed.items() if locked.get(name) != version}
    assert not off_the_lock, f"pip install . resolved these off requirements.lock: {off_the_lock}"
    # (the lock may hold a few more: packages only older Python patch releases need, such as async-timeout)
    assert len(installed) >= len(locked) - 3
    assert "torch" not in installed and "sentence-transformers" not in installed


def test_the_agent_starts_from_the_fresh_venv_and_answers(fresh_venv: Path, tmp_path: Path) -> None:
    """Every entry on (SIP, browser calls, LiveKit), so each one's imports and models must be there."""
    port, sip_port, rtp = free_port(), free_port(), free_port() // 2 + 20000
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        # what the image sets, pointed at this checkout's files
        "AGENT_SEED_PATH": str(ROOT / "fixtures" / "dealership.yaml"),
        "AGENT_CONSOLE_PATH": str(ROOT / "web_console"),
        "AGENT_DATABASE_PATH": str(tmp_path / "dealership.db"),
        "AGENT_RECORDINGS_PATH": str(tmp_path / "recordings"),
        "AGENT_SIP_PORT": str(sip_port),
        "AGENT_RTP_PORT_MIN": str(rtp),
        "AGENT_RTP_PORT_MAX": str(rtp + 20),
        "AGENT_LIVEKIT_ENABLED": "true",
        "AGENT_LOG_LEVEL": "warning",
    }
    log = tmp_path / "agent.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(fresh_venv / "bin" / "python"), "-m", "agent", "serve", "--port", str(port)],
            cwd=tmp_path,  # not the checkout: `agent` must come from the venv
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        health = _wait_for_health(base, process, log)
        assert health["status"] == "ok" and health["brain"] == "offline"
        assert {"sip", "webrtc"} <= set(health)
        with httpx.Client(base_url=base, timeout=30) as http:
            where = http.get("/health").json()
            assert where["database"] == "ok"
            session = http.post("/api/sessions", json={}).json()["session_id"]
            reply = http.post(
                "/api/chat", json={"session_id": session, "message": "What time do you open on Saturday?"}
            ).json()
        assert reply["intent"] == "faq" and "Saturday" in reply["reply"], reply
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    imported = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c", "import agent, sys; print(agent.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(fresh_venv) in imported.stdout  # the installed copy answered, not the checkout


def _wait_for_health(base: str, process: subprocess.Popen[bytes], log: Path) -> dict[str, object]:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the agent exited ({process.returncode}):\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            response = httpx.get(f"{base}/health", timeout=2)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"no /health within {STARTUP_TIMEOUT_S} s:\n{log.read_text(errors='replace')[-3000:]}")
