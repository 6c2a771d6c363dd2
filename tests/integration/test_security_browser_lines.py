"""Issue 16, finding 8 (browser calls): one client cannot take every line with offers it never completes, one
session holds one call, and an offer that never connects leaves its calls row but no empty recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.server.keys import CALL_LOG, WEBRTC_CALLS
from tests.integration.agent_harness import AgentClient, running_agent
from tests.integration.sip_peers import in_loopback_namespace, wait_until
from tests.integration.test_webrtc_calls import QUESTION, webrtc_settings
from tests.integration.webrtc_peer import BrowserPeer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="WebRTC tests run inside a loopback-only namespace (scripts/test)"
    ),
]


async def offer_from(agent: AgentClient, client: str, session_id: str, peer: BrowserPeer) -> tuple[int, Any]:
    """A browser behind the dealership's proxy posts its offer and never applies our answer."""
    body = {"session_id": session_id, "sdp": await peer.offer(), "type": "offer"}
    response = await agent.http.post("/api/voice/webrtc", json=body, headers={"X-Forwarded-For": client})
    return response.status, await response.json()


async def test_one_client_cannot_hold_every_browser_line(tmp_path: Path) -> None:
    settings = webrtc_settings(
        tmp_path,
        max_browser_calls=4,
        max_browser_calls_per_client=2,
        webrtc_peer_timeout_s=3.0,
        trusted_proxies=("127.0.0.1",),
    )
    async with running_agent(settings) as agent:
        app = agent.http.server.app
        sessions = [(await agent.new_session())["session_id"] for _ in range(4)]
        peers = [BrowserPeer(QUESTION) for _ in range(6)]
        try:
            outcomes = [
                await offer_from(agent, "203.0.113.66", s, p)
                for s, p in zip(sessions, peers[:4], strict=True)
            ]
            assert [status for status, _ in outcomes] == [200, 200, 429, 429]
            assert outcomes[2][1]["error"]["code"] == "too_many_calls_from_client"
            # The lines it could not take are there for everyone else; one session holds one call.
            other = (await agent.new_session())["session_id"]
            status, body = await offer_from(agent, "198.51.100.7", other, peers[4])
            assert status == 200
            status, body = await offer_from(agent, "198.51.100.8", other, peers[5])
            assert (status, body["error"]["code"]) == (429, "session_on_call")
            endpoint: Any = app[WEBRTC_CALLS]
            await wait_until(lambda: endpoint.active_calls == 0, 30, "the unconnected calls to time out")
        finally:
            for peer in peers:
                await peer.close()
        for _status, answered in outcomes[:2]:
            record = await app[CALL_LOG].get(answered["call_id"])
            assert record is not None and record.ended_by == "timeout"  # the row says what happened
            assert record.recording_path is None  # but nothing was heard, so nothing was recorded
        assert list((tmp_path / "recordings").glob("**/*.wav")) == []
