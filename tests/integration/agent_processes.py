"""Real agent processes (`python -m agent serve`) on loopback ports, sharing one database and one Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AgentProcess:
    """One `python -m agent serve` and an HTTP client for it."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path
    http: httpx.AsyncClient

    async def new_session(self) -> str:
        response = await self.http.post("/api/sessions", json={})
        assert response.status_code == 201, response.text
        return str(response.json()["session_id"])

    async def say(self, session_id: str, text: str) -> dict[str, Any]:
        response = await self.http.post("/api/chat", json={"session_id": session_id, "message": text})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def agent_environment(database: Mapping[str, str], redis_url: str) -> dict[str, str]:
    """A process environment: this test's database and Redis, no SIP, no WebRTC, no rate limit."""
    return {
        **os.environ,
        **database,
        "AGENT_STATE_BACKEND": "redis",
        "AGENT_REDIS_URL": redis_url,
        "AGENT_SIP_ENABLED": "false",
        "AGENT_WEBRTC_ENABLED": "false",
        "AGENT_LIVEKIT_ENABLED": "false",
        "AGENT_LOG_LEVEL": "warning",
        "AGENT_RATE_LIMIT_PER_S": "1000",
        "AGENT_RATE_LIMIT_BURST": "1000",
        "HF_HUB_OFFLINE": "1",
    }


async def _wait_healthy(agent: AgentProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if agent.process.poll() is not None:
            raise RuntimeError(f"agent on port {agent.port} exited:\n{agent.log_tail()}")
        try:
            response = await agent.http.get("/health")
            if response.status_code == 200 and response.json().get("database") == "ok":
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(
        f"agent on port {agent.port} not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{agent.log_tail()}"
    )


def _spawn(port: int, environment: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "agent", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=dict(environment),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # aiohttp's run_app shuts down cleanly on SIGINT
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def agent_processes(
    count: int, environment: Mapping[str, str], log_dir: Path
) -> AsyncIterator[list[AgentProcess]]:
    """Start `count` agents at once (they migrate and seed a fresh database together) and wait until each
    answers /health with its database ok; stop them all afterwards."""
    agents: list[AgentProcess] = []
    try:
        for index in range(count):
            port = free_port()
            log = log_dir / f"agent-{index}.log"
            process = _spawn(port, environment, log)
            http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60.0)
            agents.append(AgentProcess(port, process, log, http))
        await asyncio.gather(*(_wait_healthy(agent) for agent in agents))
        yield agents
    finally:
        for agent in agents:
            await agent.http.aclose()
        await asyncio.gather(*(asyncio.to_thread(_stop, agent.process) for agent in agents))
