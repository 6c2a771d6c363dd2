"""Issue 16, finding 10: deeply nested JSON is a 400, JSON routes take only JSON (no cross-site form or text
POST), the operator token never travels in a URL (signed links instead), and WebSockets per client are capped."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from agent.audio.wav import write_wav_channels
from agent.server.keys import CALL_LOG
from tests.integration.agent_harness import AgentClient, agent_settings, running_agent

pytestmark = pytest.mark.integration

TOKEN = "operator-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


async def error_of(response: aiohttp.ClientResponse) -> tuple[int, str]:
    body: dict[str, Any] = await response.json()
    return response.status, body["error"]["code"]


async def test_deeply_nested_json_is_a_clear_400_not_a_500(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        session_id = (await agent.new_session())["session_id"]
        for body in (b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 40 + b"1" + b"}" * 40):
            for path in ("/api/chat", "/api/sessions", "/api/voice/token"):
                response = await agent.http.post(path, data=body, headers=JSON)
                assert await error_of(response) == (400, "json_too_deep"), path
        ws = await agent.http.ws_connect(f"/ws/{session_id}")
        try:
            await ws.receive_json(timeout=5)  # the state snapshot
            await ws.send_str("[" * 8_000 + "]" * 8_000)
            assert (await ws.receive_json(timeout=5))["type"] == "error"
            await ws.send_json({"type": "ping"})  # the stream is still up
            assert (await ws.receive_json(timeout=5))["type"] == "pong"
        finally:
            await ws.close()
        assert (await agent.say(session_id, "what are your hours"))["reply"]


async def test_chat_and_sessions_take_only_json_bodies(tmp_path: Path) -> None:
    """A page of another site can POST a form or text/plain without asking; neither is taken."""
    async with running_agent(agent_settings(tmp_path)) as agent:
        session_id = (await agent.new_session())["session_id"]
        chat = f'{{"session_id": "{session_id}", "message": "cancel my appointment"}}'
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            headers = {"Content-Type": content_type}
            response = await agent.http.post("/api/chat", data=chat, headers=headers)
            assert await error_of(response) == (415, "unsupported_media_type"), content_type
            response = await agent.http.post("/api/sessions", data='{"phone": "5550142233"}', headers=headers)
            assert await error_of(response) == (415, "unsupported_media_type"), content_type
        form = await agent.http.post("/api/chat", data={"session_id": session_id, "message": "hi"})
        assert form.status == 415
        state = await (await agent.http.get(f"/api/sessions/{session_id}")).json()
        assert [m["role"] for m in state["messages"]] == ["assistant"]  # no turn was taken
        assert (await agent.http.post("/api/sessions")).status == 201  # no body at all: a plain new session


async def a_recorded_call(agent: AgentClient, tmp_path: Path) -> bytes:
    recording = tmp_path / "recordings" / "2026-11-25" / "sip-1.wav"
    recording.parent.mkdir(parents=True)
    write_wav_channels(recording, [np.ones(800, np.int16), np.zeros(800, np.int16)], 8000)
    calls = agent.http.server.app[CALL_LOG]
    await calls.start("sip@1", "sip", "+15550142233")
    await calls.finish("sip@1", outcome="booked", ended_by="caller", recording_path=str(recording))
    return recording.read_bytes()


async def test_the_operator_token_is_refused_in_a_url_and_signed_links_open_recordings(
    tmp_path: Path,
) -> None:
    settings = agent_settings(tmp_path, operator_token=TOKEN, operator_link_ttl_s=60)
    async with running_agent(settings) as agent:
        audio = await a_recorded_call(agent, tmp_path)
        for path in ("/api/calls", "/api/calls/sip@1", "/api/calls/sip@1/recording"):
            response = await agent.http.get(path, params={"token": TOKEN})
            assert await error_of(response) == (401, "token_in_query"), path
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await agent.http.ws_connect("/ws/operator", params={"token": TOKEN})
        assert refused.value.status == 401

        call = await (await agent.http.get("/api/calls/sip@1", headers=BEARER)).json()
        link = call["recording_url"]
        assert TOKEN not in link and link.startswith("/api/calls/sip%401/recording?expires=")
        played = await agent.http.get(link)  # what an <audio> element does: no header
        assert played.status == 200 and await played.read() == audio
        assert (await agent.http.get(link.replace("sig=", "sig=x"))).status == 401
        other = link.replace("sip%401", "sip%402")  # a link opens only the path it was signed for
        assert (await agent.http.get(other)).status == 401
        expired = link.split("expires=")[0] + f"expires={int(time.time()) - 1}&sig=" + link.split("sig=")[1]
        assert (await agent.http.get(expired)).status == 401

        stream = await (await agent.http.get("/api/operator/stream-link", headers=BEARER)).json()
        assert TOKEN not in stream["url"]
        ws = await agent.http.ws_connect(stream["url"])
        try:
            assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
        finally:
            await ws.close()
        assert (await agent.http.get("/api/operator/stream-link")).status == 401


async def test_websockets_per_client_are_capped(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, max_websockets_per_client=3)
    async with running_agent(settings) as agent:
        session_id = (await agent.new_session())["session_id"]
        held = [await agent.http.ws_connect(f"/ws/{session_id}") for _ in range(2)]
        held.append(await agent.http.ws_connect("/ws/operator"))  # loopback, no token: development
        try:
            for path in (f"/ws/{session_id}", "/ws/operator"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await agent.http.ws_connect(path)
                assert refused.value.status == 429 and "Retry-After" in refused.value.headers
            await held.pop().close()
            freed = await agent.http.ws_connect(f"/ws/{session_id}")  # a closed one frees its place
            held.append(freed)
        finally:
            for ws in held:
                await ws.close()


async def test_the_memory_session_store_is_capped_and_forgets_the_least_recently_used(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path, max_sessions=5)) as agent:
        kept = (await agent.new_session())["session_id"]
        flood = []
        for _ in range(12):
            flood.append((await agent.new_session())["session_id"])
            in_use = await agent.http.get(f"/api/sessions/{kept}")  # in use: never the one to go
            assert in_use.status == 200
        alive = [(await agent.http.get(f"/api/sessions/{s}")).status == 200 for s in flood]
        assert alive == [False] * 8 + [True] * 4
        assert (await agent.say(kept, "what are your hours"))["reply"]
