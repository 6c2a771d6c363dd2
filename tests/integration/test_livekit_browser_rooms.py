"""LiveKit mode: a browser caller's token makes the agent join that session's room, once, as a "browser" call."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web

from agent.server.keys import BROWSER_ROOMS, CALL_RUNNER, LIVEKIT_CALLS
from agent.server.tokens import room_for_session
from telephony.livekit.dispatch import LiveKitCallDispatcher, RoomJoiner
from telephony.livekit.room_call import LiveKitRoomCall
from tests.integration.agent_harness import agent_settings, running_agent
from tests.livekit_local import LocalRoom, eventually, local_room

pytestmark = pytest.mark.integration


class LocalJoiner(RoomJoiner):
    """Joins no server: each room is a LiveKitRoomCall on local tracks the test can listen to."""

    def __init__(self) -> None:
        self.joined: list[tuple[str, str]] = []
        self.rooms: list[LocalRoom] = []
        self._stack = AsyncExitStack()

    async def join(self, room: str, caller_identity: str) -> LiveKitRoomCall:
        self.joined.append((room, caller_identity))
        local = await self._stack.enter_async_context(local_room(call_id=room, caller_id=None))
        self.rooms.append(local)
        return local.call

    async def aclose(self) -> None:
        await self._stack.aclose()


def loudest_rms(samples: np.ndarray) -> float:
    usable = samples[: samples.size - samples.size % 1600].astype(np.float64) / 32768.0
    return float(np.sqrt((usable.reshape(-1, 1600) ** 2).mean(axis=1)).max()) if usable.size else 0.0


async def test_a_caller_token_starts_one_agent_in_the_sessions_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    joiner = LocalJoiner()
    monkeypatch.setattr("agent.server.app.LiveKitRoomJoiner", lambda _access: joiner)
    settings = agent_settings(tmp_path, livekit_enabled=True, hold_music_after_s=30.0)
    async with running_agent(settings) as agent:
        app: web.Application = agent.http.server.app
        assert (
            isinstance(app[BROWSER_ROOMS], LiveKitCallDispatcher) and app[BROWSER_ROOMS] is app[LIVEKIT_CALLS]
        )
        session_id = (await agent.new_session())["session_id"]
        room = room_for_session(session_id)
        tokens: list[dict[str, Any]] = []
        for _ in range(2):  # a page reload asks again: still one agent in the room
            response = await agent.http.post("/api/voice/token", json={"session_id": session_id})
            assert response.status == 200
            tokens.append(await response.json())
        assert {t["room"] for t in tokens} == {room}
        runner = app[CALL_RUNNER]
        await eventually(lambda: len(runner.active()) == 1, timeout_s=20)
        assert joiner.joined == [(room, tokens[0]["identity"])]
        [call] = runner.active()
        assert (call["call_id"], call["session_id"], call["channel"]) == (room, session_id, "browser")
        local = joiner.rooms[0]
        await eventually(lambda: loudest_rms(local.heard_audio()) > 0.02, timeout_s=20)  # the greeting

        local.call.caller_left()  # the browser left the room
        await eventually(lambda: not runner.active(), timeout_s=15)
        await eventually(lambda: not app[LIVEKIT_CALLS].active_rooms, timeout_s=15)  # type: ignore[attr-defined]
        calls = (await (await agent.http.get("/api/calls")).json())["calls"]
        assert [(c["call_id"], c["channel"], c["session_id"]) for c in calls] == [
            (room, "browser", session_id)
        ]
        assert local.control.left == 1


async def test_unknown_sessions_get_no_token_and_no_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    joiner = LocalJoiner()
    monkeypatch.setattr("agent.server.app.LiveKitRoomJoiner", lambda _access: joiner)
    async with running_agent(agent_settings(tmp_path, livekit_enabled=True)) as agent:
        response = await agent.http.post("/api/voice/token", json={"session_id": "sess_nope"})
        assert response.status == 404
        await asyncio.sleep(0.1)
        assert joiner.joined == []
