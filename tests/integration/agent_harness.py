"""Start the real agent app (real SQLite file, real state store) on a loopback port and talk to it over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from agent.config import Settings
from agent.server.app import create_app
from tests.conftest import NOW


class AgentClient:
    """A thin HTTP client for tests: sessions, chat turns, and raw requests."""

    def __init__(self, client: TestClient[Any, Any], settings: Settings) -> None:
        self.http = client
        self.settings = settings

    async def new_session(self, phone: str | None = None) -> dict[str, Any]:
        body = {"phone": phone} if phone else {}
        response = await self.http.post("/api/sessions", json=body)
        assert response.status == 201, await response.text()
        data: dict[str, Any] = await response.json()
        return data

    async def say(self, session_id: str, text: str) -> dict[str, Any]:
        response = await self.http.post("/api/chat", json={"session_id": session_id, "message": text})
        assert response.status == 200, await response.text()
        data: dict[str, Any] = await response.json()
        return data


def agent_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_path": tmp_path / "dealership.db",
        "timezone": "America/Chicago",
        "escalation_min_s": 0.2,
        "escalation_max_s": 0.6,
        "escalation_seed": 7,
        "rate_limit_per_s": 1000.0,
        "rate_limit_burst": 1000,
        "log_level": "warning",
        "sip_enabled": False,  # the SIP tests start their own endpoint inside a loopback-only namespace
        "webrtc_enabled": False,  # browser-call tests turn it on (it loads the voice models)
        "recordings_path": tmp_path / "recordings",
        # not the development pair, which production mode refuses
        "livekit_api_key": "testkey",
        "livekit_api_secret": "testsecret-testsecret-testsecret-0123",
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_agent(settings: Settings) -> AsyncIterator[AgentClient]:
    app = create_app(settings, clock=lambda: NOW)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield AgentClient(client, settings)
    finally:
        await client.close()
