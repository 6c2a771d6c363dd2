"""One real `python -m agent serve` process for the fault tests: started, signalled, killed, and measured."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.agent_processes import ROOT, free_port

STARTUP_TIMEOUT_S = 120.0


def serve_environment(work: Path, **settings: str) -> dict[str, str]:
    """The process's environment: a SQLite file and recordings in `work`, the memory state store, no
    WebRTC or LiveKit, SIP off unless asked; `settings` are AGENT_* names without the prefix."""
    values = {
        "DATABASE_PATH": str(work / "dealership.db"),
        "RECORDINGS_PATH": str(work / "recordings"),
        "STATE_BACKEND": "memory",
        "SIP_ENABLED": "false",
        "WEBRTC_ENABLED": "false",
        "LIVEKIT_ENABLED": "false",
        "STT_NUMBER_MODEL": "off",  # one model to load, not two
        "LOG_LEVEL": "info",
        "RATE_LIMIT_PER_S": "1000",
        "RATE_LIMIT_BURST": "1000",
        **{name.upper(): value for name, value in settings.items()},
    }
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    return {**environment, "HF_HUB_OFFLINE": "1", **{f"AGENT_{k}": v for k, v in values.items()}}


@dataclass
class ServedAgent:
    """The process, its HTTP base URL, its log and its database file."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    database: Path
    http: aiohttp.ClientSession

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def new_session(self) -> str:
        async with self.http.post(self.url("/api/sessions"), json={}) as response:
            assert response.status == 201, await response.text()
            return str((await response.json())["session_id"])

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.url("/health")) as response:
            body: dict[str, Any] = await response.json()
            return response.status, body

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    async def exit_code(self, timeout_s: float) -> int | None:
        """The exit status once the process is gone, or None if it is still running after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (code := self.process.poll()) is not None:
                return code
            await asyncio.sleep(0.1)
        return None

    def rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with sqlite3.connect(self.database) as conn:
            conn.row_factory = sqlite3.Row
            return list(conn.execute(sql, args))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def open_fds(self) -> int:
        return sum(1 for _ in Path(f"/proc/{self.process.pid}/fd").iterdir())


async def _wait_healthy(agent: ServedAgent) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if agent.process.poll() is not None:
            raise RuntimeError(f"the agent exited at start:\n{agent.log_text()[-3000:]}")
        try:
            status, _ = await agent.health()
            if status == 200:
                return
        except (aiohttp.ClientError, ValueError):
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the agent was not healthy after {STARTUP_TIMEOUT_S:.0f} s")


def _spawn(port: int, environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "agent", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


@asynccontextmanager
async def served_agent(work: Path, environment: dict[str, str]) -> AsyncIterator[ServedAgent]:
    """Start the agent on a free loopback port and wait for /health; kill it afterwards if still running."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = work / "agent.log"
    process = _spawn(port, environment, log)
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    agent = ServedAgent(
        process, f"http://127.0.0.1:{port}", log, Path(environment["AGENT_DATABASE_PATH"]), http
    )
    try:
        await _wait_healthy(agent)
        yield agent
    finally:
        await http.close()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
