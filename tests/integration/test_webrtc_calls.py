"""Browser calls end to end: a real aiortc peer calls the agent's WebRTC endpoint on loopback (real Whisper/TTS)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection

from agent.calls.runner import OPERATOR_CHANNEL
from agent.config import Settings
from agent.server.keys import CALL_RUNNER, WEBRTC_CALLS
from tests.integration.agent_harness import AgentClient, agent_settings, running_agent
from tests.integration.sip_peers import in_loopback_namespace, wait_until
from tests.integration.webrtc_peer import BrowserPeer, loudest_rms

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="WebRTC tests run inside a loopback-only namespace (scripts/test)"
    ),
]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QUESTION = FIXTURES / "audio" / "oil_change_price" / "01.wav"  # "how much does an oil change cost"


def webrtc_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webrtc_enabled": True,
        "webrtc_host_addresses": ("127.0.0.1",),  # aioice leaves loopback out on its own
        "hold_music_after_s": 30.0,
    }
    values.update(overrides)
    return agent_settings(tmp_path, **values)


class OperatorEvents:
    """Sits between the call runner and the event hub and keeps what goes to the operators' channel."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[dict[str, Any]] = []
        self.interim: list[dict[str, Any]] = []  # the caller's words so far, sent while they speak

    async def publish(self, session_id: str, event: dict[str, Any]) -> None:
        if session_id == OPERATOR_CHANNEL:
            self.seen.append(event)
        elif event.get("interim"):
            self.interim.append(event)
        await self.inner.publish(session_id, event)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.seen if event["type"] == kind]


def app_of(agent: AgentClient) -> web.Application:
    app: web.Application = agent.http.server.app
    return app


def active_calls(app: web.Application) -> int:
    endpoint: Any = app[WEBRTC_CALLS]
    return int(endpoint.active_calls)


async def session_messages(agent: AgentClient, session_id: str) -> list[dict[str, Any]]:
    response = await agent.http.get(f"/api/sessions/{session_id}")
    if response.status != 200:
        return []
    messages: list[dict[str, Any]] = (await response.json())["messages"]
    return messages


async def test_browser_call_is_greeted_heard_recorded_and_freed(tmp_path: Path) -> None:
    async with running_agent(webrtc_settings(tmp_path)) as agent:
        app = app_of(agent)
        runner = app[CALL_RUNNER]
        operators = OperatorEvents(runner.events)
        runner.events = operators
        # The console's chat knows the customer (Maria, a seeded customer): her call is filed under her number.
        session_id = (await agent.new_session("+1 555 014 2233"))["session_id"]
        peer = BrowserPeer(QUESTION, lead_s=4.0)
        try:
            answered = await peer.call(agent.http, session_id)
            assert answered["session_id"] == session_id and answered["call_id"].startswith("webrtc-")
            await wait_until(lambda: len(operators.of_type("call_started")) == 1, 20, "call_started")
            started = operators.of_type("call_started")[0]
            assert started["call_id"] == answered["call_id"] and started["session_id"] == session_id
            assert started["channel"] == "browser" and started["caller_id"] == "+15550142233"
            assert [call["call_id"] for call in runner.active()] == [answered["call_id"]]
            await wait_until(lambda: loudest_rms(peer.heard_audio()) > 0.02, 20, "the greeting's audio")

            said: list[str] = []
            for _ in range(60):  # the question plays after 4 s; Whisper and the reply take a few more
                said = [m["content"].lower() for m in await session_messages(agent, session_id)]
                if any("oil change" in text for text in said):
                    break
                await asyncio.sleep(0.5)
            assert any("oil change" in text for text in said), said
            # While the caller was still asking, the console was shown their words so far.
            assert operators.interim and all(e["session_id"] == session_id for e in operators.interim)
            assert any(e["content"].strip() for e in operators.interim), operators.interim
        finally:
            await peer.close()
        await wait_until(lambda: active_calls(app) == 0, 15, "the call to be freed")
        await wait_until(lambda: len(operators.of_type("call_ended")) == 1, 10, "call_ended")
        ended = operators.of_type("call_ended")[0]
        assert ended["call_id"] == answered["call_id"] and ended["session_id"] == session_id
        assert ended["channel"] == "browser" and ended["ended_by"] == "caller"
        assert ended["outcome"] == "answered_question" and ended["duration_s"] > 4
        assert runner.active() == []
        calls = (await (await agent.http.get("/api/calls")).json())["calls"]
        assert [(c["call_id"], c["channel"], c["session_id"], c["caller_id"]) for c in calls] == [
            (answered["call_id"], "browser", session_id, "+15550142233")
        ]
        # The call joined the console's chat session: hanging up leaves the chat going on.
        chat = await agent.http.post(
            "/api/chat", json={"session_id": session_id, "message": "where are you located"}
        )
        assert chat.status == 200, await chat.text()
        messages = [m["content"].lower() for m in await session_messages(agent, session_id)]
        assert any("oil change" in text for text in messages) and "where are you located" in messages


async def post_offer(agent: AgentClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await agent.http.post("/api/voice/webrtc", json=body)
    data: dict[str, Any] = await response.json()
    return response.status, data


async def test_bad_offers_busy_lines_and_unknown_calls_get_clear_errors(tmp_path: Path) -> None:
    async with running_agent(webrtc_settings(tmp_path, max_browser_calls=1)) as agent:
        app = app_of(agent)
        session_id = (await agent.new_session())["session_id"]
        first, second = BrowserPeer(QUESTION), BrowserPeer(QUESTION)
        video_only = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            offer = await second.offer()
            status, body = await post_offer(agent, {"session_id": "sess_nope", "sdp": offer, "type": "offer"})
            assert (status, body["error"]["code"]) == (404, "unknown_session")
            status, body = await post_offer(
                agent, {"session_id": session_id, "sdp": "hello", "type": "offer"}
            )
            assert (status, body["error"]["code"]) == (422, "bad_offer")
            video_only.addTransceiver("video")
            await video_only.setLocalDescription(await video_only.createOffer())
            no_audio = {"session_id": session_id, "sdp": video_only.localDescription.sdp, "type": "offer"}
            status, body = await post_offer(agent, no_audio)
            assert (status, body["error"]["code"]) == (422, "bad_offer")
            assert "audio" in body["error"]["message"]
            for wrong in (
                {"session_id": session_id, "type": "offer"},
                {"session_id": session_id, "sdp": offer},
            ):
                status, body = await post_offer(agent, wrong)
                assert (status, body["error"]["code"]) == (422, "invalid_fields")
            status, body = await post_offer(agent, {"session_id": session_id, "sdp": offer, "type": "answer"})
            assert (status, body["error"]["code"]) == (422, "invalid_fields")

            call_id = (await first.call(agent.http, session_id))["call_id"]
            status, body = await post_offer(agent, {"session_id": session_id, "sdp": offer, "type": "offer"})
            assert (status, body["error"]["code"]) == (503, "too_many_calls")

            response = await agent.http.delete("/api/voice/webrtc/webrtc-unknown")
            assert response.status == 404 and (await response.json())["error"]["code"] == "unknown_call"
            runner = app[CALL_RUNNER]
            await wait_until(lambda: len(runner.active()) == 1, 20, "the first call to connect")
            response = await agent.http.delete(f"/api/voice/webrtc/{call_id}")
            assert response.status == 204
            await wait_until(lambda: active_calls(app) == 0, 15, "the ended call to free its line")
            await asyncio.wait_for(first.track_ended.wait(), 15)  # the browser saw our track end
            fresh = (await agent.new_session())["session_id"]  # the ended call ended its session too
            status, body = await post_offer(agent, {"session_id": fresh, "sdp": offer, "type": "offer"})
            assert status == 200 and body["call_id"] != call_id
        finally:
            await first.close()
            await second.close()
            await video_only.close()


async def test_browser_calls_turned_off_answer_503(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path, webrtc_enabled=False)) as agent:
        session_id = (await agent.new_session())["session_id"]
        status, body = await post_offer(agent, {"session_id": session_id, "sdp": "v=0", "type": "offer"})
        assert (status, body["error"]["code"]) == (503, "voice_unavailable")
        response = await agent.http.delete("/api/voice/webrtc/webrtc-1")
        assert response.status == 503
