"""Issue 16, finding 7: rate limits per client (a trusted proxy's X-Forwarded-For, nobody else's), over every
route and WebSocket and failed operator tokens, with Retry-After on every 429 and 503."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.agent_harness import AgentClient, agent_settings, running_agent

pytestmark = pytest.mark.integration

TOKEN = "operator-token-for-tests-0123456789"
SLOW = {"rate_limit_per_s": 0.01, "rate_limit_burst": 4}  # four requests, then one per 100 s


def via_proxy(client: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"{client}, 10.9.9.9"}  # the client, then a proxy in front of ours


async def spend(agent: AgentClient, headers: dict[str, str], times: int) -> list[int]:
    statuses = []
    for _ in range(times):
        statuses.append((await agent.http.get("/api/sessions/sess_nope", headers=headers)).status)
    return statuses


async def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, **SLOW, trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    async with running_agent(settings) as agent:
        assert await spend(agent, via_proxy("203.0.113.1"), 4) == [404] * 4
        refused = await agent.http.get("/api/sessions/sess_nope", headers=via_proxy("203.0.113.1"))
        assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
        assert (await refused.json())["error"]["code"] == "rate_limited"
        # Another caller behind the same balancer is not held back by the first one.
        assert await spend(agent, via_proxy("203.0.113.2"), 4) == [404] * 4


async def test_a_forwarded_for_header_from_an_untrusted_peer_changes_nothing(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path, **SLOW)) as agent:  # no trusted proxy
        statuses = [
            (await agent.http.get("/api/sessions/x", headers={"X-Forwarded-For": f"198.51.100.{n}"})).status
            for n in range(6)
        ]
        assert statuses == [404] * 4 + [429] * 2  # a client cannot pick a fresh key per request


async def test_every_route_and_websocket_spends_the_clients_tokens(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path, rate_limit_per_s=0.01, rate_limit_burst=6)) as agent:
        session_id = (await agent.new_session())["session_id"]  # 1
        assert (await agent.http.get(f"/api/sessions/{session_id}")).status == 200  # 2
        assert (await agent.http.post("/api/voice/token", json={"session_id": session_id})).status == 200  # 3
        ws = await agent.http.ws_connect(f"/ws/{session_id}")  # 4
        await ws.close()
        assert (await agent.http.delete("/api/sessions/sess_nope")).status == 404  # 5
        assert (await agent.http.get("/api/sessions/sess_nope")).status == 404  # 6
        for method, path in (
            ("GET", f"/api/sessions/{session_id}"),
            ("DELETE", f"/api/sessions/{session_id}"),
        ):
            response = await agent.http.request(method, path)
            assert response.status == 429 and "Retry-After" in response.headers, (method, path)
        token = await agent.http.post("/api/voice/token", json={"session_id": session_id})
        assert token.status == 429
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await agent.http.ws_connect(f"/ws/{session_id}")
        assert refused.value.status == 429
        # The console's files and /health have their own, larger allowance.
        assert (await agent.http.get("/health")).status == 200


async def test_wrong_operator_tokens_are_limited_per_client(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, operator_token=TOKEN, operator_token_failures_per_min=5)
    async with running_agent(settings) as agent:
        wrong = {"Authorization": "Bearer guess"}
        statuses = [(await agent.http.get("/api/calls", headers=wrong)).status for _ in range(5)]
        assert statuses == [401] * 5
        guessing = await agent.http.get("/api/calls", headers={"Authorization": "Bearer another-guess"})
        assert guessing.status == 429 and int(guessing.headers["Retry-After"]) >= 1
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await agent.http.ws_connect("/ws/operator", headers=wrong)
        assert refused.value.status == 429


async def test_every_503_says_when_to_retry(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path, webrtc_enabled=False)) as agent:
        session_id = (await agent.new_session())["session_id"]
        offer: dict[str, Any] = {"session_id": session_id, "sdp": "v=0", "type": "offer"}
        response = await agent.http.post("/api/voice/webrtc", json=offer)
        assert response.status == 503 and int(response.headers["Retry-After"]) >= 1
