"""Browser calls end to end: a real aiortc peer calls the agent's WebRTC endpoint on loopback (real Whisper/TTS)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection

from agent.calls.runner import OPERATOR_CHANNEL, CallRunner
from agent.config import Settings
from agent.server.keys import CALL_RUNNER, WEBRTC_CALLS
from tests.integration.agent_harness import AgentClient, agent_settings, running_agent
from tests.integration.sip_peers import in_loopback_namespace, wait_until
from tests.integration.webrtc_peer import BrowserPeer, BrowserProcess, loudest_rms, went_quiet

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="WebRTC tests run inside a loopback-only namespace (scripts/test)"
    ),
]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
QUESTION = FIXTURES / "audio" / "oil_change_price" / "01.wav"  # "how much does an oil change cost"
SIP_OFFER = (  # what a desk phone offers: plain RTP, G.711, no ICE credentials, no DTLS fingerprint
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


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


def tap_events(runner: CallRunner) -> OperatorEvents:
    """Every event of the runner's calls goes through an OperatorEvents on its way to the hub."""
    operators = OperatorEvents(runner.factory.parts.events)
    runner.factory = replace(runner.factory, parts=replace(runner.factory.parts, events=operators))
    return operators


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
        operators = tap_events(runner)
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


async def webrtc_health(agent: AgentClient) -> dict[str, Any]:
    response = await agent.http.get("/health")
    assert response.status == 200, await response.text()
    section: dict[str, Any] = (await response.json())["webrtc"]
    return section


def since_last_user_message(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = max(i for i, m in enumerate(messages) if m["role"] == "user")
    return messages[last + 1 :]


def call_ended(operators: OperatorEvents, call_id: str) -> dict[str, Any] | None:
    return next((e for e in operators.of_type("call_ended") if e["call_id"] == call_id), None)


async def test_browsers_sending_no_audio_still_hear_the_agent_and_hang_up_cleanly(tmp_path: Path) -> None:
    settings = webrtc_settings(tmp_path, webrtc_peer_timeout_s=3.0)
    async with running_agent(settings) as agent:
        app = app_of(agent)
        runner = app[CALL_RUNNER]
        operators = tap_events(runner)
        session_id = (await agent.new_session())["session_id"]
        # The caller asks, and their microphone stops the moment the question is over: no RTP at all after it.
        peer = BrowserPeer(QUESTION, lead_s=5.0, stop_after_speaking=True)
        try:
            call_id = (await peer.call(agent.http, session_id))["call_id"]
            await wait_until(lambda: len(runner.active()) == 1, 20, "the call to start")
            assert await webrtc_health(agent) == {
                "active_calls": 1,
                "max_calls": settings.webrtc.max_browser_calls,
                "answered": 1,
                "refused_busy": 0,
            }
            await asyncio.wait_for(peer.voice.stopped_sending.wait(), 30)
            heard_before = peer.heard_audio().size
            # The end of the question is still heard (the call's clock runs on silence) and answered aloud.
            await wait_until(
                lambda: loudest_rms(peer.heard_audio()[heard_before:]) > 0.02,
                60,
                "the answer after the mic stopped",
            )
            said = await session_messages(agent, session_id)
            assert any(m["role"] == "user" and "oil change" in m["content"].lower() for m in said), said
            assert said[-1]["role"] == "assistant", said
            # Only RTCP reports come from the browser now, for longer than the peer timeout: it is still there.
            await asyncio.sleep(2 * settings.webrtc.webrtc_peer_timeout_s)
            assert [c["call_id"] for c in runner.active()] == [call_id]
            assert call_ended(operators, call_id) is None
            response = await agent.http.delete(f"/api/voice/webrtc/{call_id}")
            assert response.status == 204
            await asyncio.wait_for(peer.track_ended.wait(), 15)  # the browser saw our track end
        finally:
            await peer.close()
        await wait_until(lambda: call_ended(operators, call_id) is not None, 15, "call_ended")
        ended = call_ended(operators, call_id)
        assert ended is not None and (ended["ended_by"], ended["outcome"]) == ("caller", "answered_question")
        await wait_until(lambda: active_calls(app) == 0, 15, "the line to be freed")
        health = await webrtc_health(agent)
        assert (health["active_calls"], health["answered"]) == (0, 1)
        response = await agent.http.delete(f"/api/voice/webrtc/{call_id}")  # the End button pressed twice
        assert response.status == 404 and (await response.json())["error"]["code"] == "unknown_call"

        # A browser that joins muted (not one audio packet, ever) still hears what the agent has to say on its
        # own: the answer to a question typed in the console's chat while the call is on.
        muted = BrowserPeer(QUESTION, muted=True)
        try:
            muted_id = (await muted.call(agent.http, session_id))["call_id"]
            await wait_until(lambda: loudest_rms(muted.heard_audio()) > 0.02, 30, "the greeting")
            await wait_until(lambda: went_quiet(muted.heard_audio()), 30, "the greeting to end")
            heard_before = muted.heard_audio().size
            typed = await agent.say(session_id, "can I talk to a real person")
            assert typed["escalation_in_progress"], typed
            after: list[dict[str, Any]] = []
            # The check for a human takes under a second here; the call, not a chat turn, delivers its result.
            for _ in range(100):
                after = since_last_user_message(await session_messages(agent, session_id))
                if len(after) > 1:
                    break
                await asyncio.sleep(0.2)
            assert [m["role"] for m in after] == ["assistant", "assistant"], after
            assert after[0]["content"] == typed["reply"] != after[1]["content"]
            await wait_until(
                lambda: loudest_rms(muted.heard_audio()[heard_before:]) > 0.02, 30, "the human check's result"
            )
            response = await agent.http.delete(f"/api/voice/webrtc/{muted_id}")
            assert response.status == 204
        finally:
            await muted.close()
        await wait_until(lambda: call_ended(operators, muted_id) is not None, 15, "the muted call to end")
        assert (await webrtc_health(agent))["active_calls"] == 0


async def test_browsers_that_vanish_are_timed_out_recorded_and_free_their_line(tmp_path: Path) -> None:
    async with running_agent(
        webrtc_settings(tmp_path, max_browser_calls=1, webrtc_peer_timeout_s=3.0)
    ) as agent:
        app = app_of(agent)
        runner = app[CALL_RUNNER]
        operators = tap_events(runner)
        session_id = (await agent.new_session())["session_id"]
        gone, waiting, crashed, next_one = (
            BrowserPeer(QUESTION),
            BrowserPeer(QUESTION),
            BrowserProcess(QUESTION),
            BrowserPeer(QUESTION),
        )
        try:
            # A browser posts its offer and is gone before it connects: it never applies our answer.
            status, body = await post_offer(
                agent, {"session_id": session_id, "sdp": await gone.offer(), "type": "offer"}
            )
            assert status == 200
            gone_id = body["call_id"]
            # Its line is held while the agent waits for it.
            status, body = await post_offer(
                agent, {"session_id": session_id, "sdp": await waiting.offer(), "type": "offer"}
            )
            assert (status, body["error"]["code"]) == (503, "too_many_calls")
            await wait_until(
                lambda: call_ended(operators, gone_id) is not None, 20, "the unconnected call to end"
            )
            await wait_until(lambda: active_calls(app) == 0, 15, "its line to be freed")

            # A browser connects, is greeted, then crashes: no DTLS close, no DELETE, nothing at all from it.
            crashed_id = (await crashed.call(agent.http, session_id))["call_id"]
            await wait_until(lambda: len(runner.active()) == 1, 20, "the call to start")
            assert (await webrtc_health(agent))["active_calls"] == 1
            await crashed.kill()
            await wait_until(
                lambda: call_ended(operators, crashed_id) is not None, 20, "the dead call to end"
            )
            await wait_until(lambda: active_calls(app) == 0, 15, "its line to be freed")
            assert (await webrtc_health(agent))["active_calls"] == 0

            # The one line is free again: the next browser is answered and its call runs.
            next_id = (await next_one.call(agent.http, session_id))["call_id"]
            await wait_until(
                lambda: [c["call_id"] for c in runner.active()] == [next_id], 20, "the next call"
            )
        finally:
            await crashed.kill()
            for peer in (gone, waiting, next_one):
                await peer.close()
        await wait_until(lambda: active_calls(app) == 0, 15, "the last call to end")
        for call_id in (gone_id, crashed_id):
            ended = call_ended(operators, call_id)
            assert ended is not None and ended["ended_by"] == "timeout" and ended["session_id"] == session_id
        gone_event = call_ended(operators, gone_id)
        assert gone_event is not None and gone_event["outcome"] == "abandoned"
        calls = {c["call_id"]: c for c in (await (await agent.http.get("/api/calls")).json())["calls"]}
        assert [(calls[i]["channel"], calls[i]["ended_by"]) for i in (gone_id, crashed_id)] == [
            ("browser", "timeout"),
            ("browser", "timeout"),
        ]
        health = await webrtc_health(agent)  # the browser that never connected was never answered
        assert (health["answered"], health["refused_busy"]) == (2, 1)


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
            well_formed = {"session_id": session_id, "sdp": offer, "type": "offer"}
            # A SIP phone's offer parses and has audio, but no ICE or DTLS: a browser call cannot use it.
            status, body = await post_offer(
                agent, {"session_id": session_id, "sdp": SIP_OFFER, "type": "offer"}
            )
            assert (status, body["error"]["code"]) == (422, "bad_offer")
            assert "cannot be used" in body["error"]["message"]
            # The offer goes inside JSON: raw SDP (as WHIP sends it) or JSON labelled as text is refused.
            for content_type, data in (("application/sdp", offer), ("text/plain", json.dumps(well_formed))):
                response = await agent.http.post(
                    "/api/voice/webrtc", data=data, headers={"Content-Type": content_type}
                )
                error = (await response.json())["error"]
                assert (response.status, error["code"]) == (415, "unsupported_media_type"), error
                assert "application/json" in error["message"] and content_type in error["message"]
            response = await agent.http.post(
                "/api/voice/webrtc", data='{"session_id": ', headers={"Content-Type": "application/json"}
            )
            assert response.status == 400 and (await response.json())["error"]["code"] == "invalid_json"

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
        health = await (await agent.http.get("/health")).json()
        assert health["status"] == "ok" and "webrtc" not in health
