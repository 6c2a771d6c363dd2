"""LiveKit calls get what embedded ones have: a cap with a spoken busy answer, missed calls recorded, metrics."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from agent.audio.resample import resample
from agent.audio.wav import read_wav
from agent.server.keys import CALL_LOG, CALL_RUNNER, DATABASE, LIVEKIT_CALLS
from agent.store.callbacks import Callbacks
from telephony.livekit.dispatch import RoomJoiner
from telephony.livekit.room_call import LiveKitRoomCall
from telephony.livekit.room_connect import CallerLeft
from tests.integration.agent_harness import AgentClient, agent_settings, running_agent
from tests.integration.conftest import ROOT
from tests.integration.test_livekit_webhook import KEY, SECRET, signature, webhook_body
from tests.livekit_local import RATE, LocalRoom, eventually, local_room

pytestmark = pytest.mark.integration

CALLER = "+15551230000"
FIXTURES = ROOT / "fixtures"


class LocalJoiner(RoomJoiner):
    """Joins no server: each room is a LiveKitRoomCall on local tracks; some callers hang up while it rings."""

    def __init__(self) -> None:
        self.rooms: dict[str, LocalRoom] = {}
        self.gone: dict[str, BaseException] = {}  # room -> what joining it raises
        self._stack = AsyncExitStack()

    async def join(self, room: str, caller_identity: str) -> LiveKitRoomCall:
        if room in self.gone:
            raise self.gone[room]
        local = await self._stack.enter_async_context(local_room(call_id=room, caller_id=CALLER))
        self.rooms[room] = local
        return local.call

    async def aclose(self) -> None:
        await self._stack.aclose()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def caller_joins(agent: AgentClient, room: str) -> None:
    body = webhook_body(room=room)
    response = await agent.http.post(
        "/livekit/webhook", data=body, headers={"Authorization": signature(body)}
    )
    assert response.status == 200


async def heard_words(app: web.Application, audio: np.ndarray) -> str:
    """What the caller heard, transcribed by the agent's own Whisper."""
    stt = app[CALL_RUNNER].factory.parts.stt
    return (await stt.transcribe(resample(audio, RATE, 16000))).text.lower()


@pytest.fixture
async def livekit_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:  # an (AgentClient, LocalJoiner) pair
    joiner = LocalJoiner()
    monkeypatch.setattr("agent.server.app.LiveKitRoomJoiner", lambda _access: joiner)
    settings = agent_settings(
        tmp_path,
        livekit_enabled=True,
        livekit_api_key=KEY,
        livekit_api_secret=SECRET,
        livekit_max_calls=1,
        livekit_busy_callback_after_s=900,
        hold_music_after_s=30.0,
    )
    async with running_agent(settings) as agent:
        yield agent, joiner


async def test_over_the_cap_the_caller_hears_we_are_busy_gets_a_callback_and_is_hung_up(
    livekit_agent: tuple[AgentClient, LocalJoiner],
) -> None:
    agent, joiner = livekit_agent
    app: web.Application = agent.http.server.app
    refused_before = sample("agent_calls_refused_busy_total", channel="livekit")
    await caller_joins(agent, "call-_+15551230000_first")
    runner = app[CALL_RUNNER]
    await eventually(lambda: len(runner.active()) == 1, timeout_s=20)
    assert sample("agent_calls_active", channel="livekit") == 1

    await caller_joins(agent, "call-_+15551230000_second")  # one line, and it is taken
    await eventually(lambda: "call-_+15551230000_second" in joiner.rooms, timeout_s=10)
    second = joiner.rooms["call-_+15551230000_second"]
    await eventually(lambda: (second.control.removed, second.control.left) == (1, 1), timeout_s=30)
    words = await heard_words(app, second.heard_audio())
    assert "busy" in words and "call you back" in words, words
    assert len(runner.active()) == 1  # the first call carries on, alone

    rows = {call.call_id: call for call in await app[CALL_LOG].recent()}
    busy = rows["call-_+15551230000_second"]
    assert (busy.outcome, busy.ended_by, busy.caller_id, busy.channel) == (
        "refused_busy",
        "agent",
        CALLER,
        "livekit",
    )
    [callback] = await Callbacks(app[DATABASE], ZoneInfo("America/Chicago")).list()
    assert (callback.phone, callback.reason, callback.status) == (CALLER, "all lines were busy", "scheduled")
    wait = callback.due_at - datetime.now(UTC)
    assert timedelta(minutes=14) < wait <= timedelta(minutes=15)

    health = await (await agent.http.get("/health")).json()
    assert health["livekit"] == {"active_calls": 1, "max_calls": 1, "answered": 1, "refused_busy": 1}
    metrics = await (await agent.http.get("/metrics")).text()
    assert 'agent_calls_refused_busy_total{channel="livekit"}' in metrics
    assert sample("agent_calls_refused_busy_total", channel="livekit") == refused_before + 1

    joiner.rooms["call-_+15551230000_first"].call.caller_left()
    await eventually(lambda: not runner.active(), timeout_s=15)
    assert sample("agent_calls_active", channel="livekit") == 0


@pytest.mark.parametrize(
    ("failure", "ended_by"), [(CallerLeft("sip_+15551230000"), "caller"), (TimeoutError(), "timeout")]
)
async def test_a_caller_gone_before_the_agent_answered_is_a_missed_call(
    livekit_agent: tuple[AgentClient, LocalJoiner], failure: BaseException, ended_by: str
) -> None:
    agent, joiner = livekit_agent
    app: web.Application = agent.http.server.app
    room = "call-_+15551230000_hungup"
    joiner.gone[room] = failure
    before = sample("agent_calls_total", channel="livekit", outcome="missed", ended_by=ended_by)
    await caller_joins(agent, room)
    await eventually(lambda: not app[LIVEKIT_CALLS].active_rooms, timeout_s=10)  # type: ignore[attr-defined]
    [missed] = [call for call in await app[CALL_LOG].recent() if call.call_id == room]
    assert (missed.outcome, missed.ended_by, missed.caller_id) == ("missed", ended_by, CALLER)
    assert missed.answered_at is None and missed.ended_at is not None
    assert sample("agent_calls_total", channel="livekit", outcome="missed", ended_by=ended_by) == before + 1
    await caller_joins(agent, room)  # LiveKit retries the webhook: the room stays claimed, no second row
    await asyncio.sleep(0.2)
    assert len([call for call in await app[CALL_LOG].recent() if call.call_id == room]) == 1


def loudest_rms(samples: np.ndarray) -> float:
    usable = samples[: samples.size - samples.size % 1600].astype(np.float64) / 32768.0
    return float(np.sqrt((usable.reshape(-1, 1600) ** 2).mean(axis=1)).max()) if usable.size else 0.0


async def test_a_livekit_call_turn_lands_in_the_latency_histograms(
    livekit_agent: tuple[AgentClient, LocalJoiner],
) -> None:
    """A caller asks about financing; the agent answers; when the call ends its turn is in /metrics."""
    agent, joiner = livekit_agent
    app: web.Application = agent.http.server.app
    stages = ("end_of_turn_wait", "stt", "dialog", "tts_first_audio")
    before = {
        stage: sample("agent_call_turn_stage_seconds_count", channel="livekit", stage=stage)
        for stage in stages
    }
    v2v_before = sample("agent_voice_to_voice_seconds_count", channel="livekit")
    room = "call-_+15551230000_financing"
    await caller_joins(agent, room)
    await eventually(lambda: room in joiner.rooms, timeout_s=20)
    local = joiner.rooms[room]
    await eventually(lambda: loudest_rms(local.heard_audio()) > 0.02, timeout_s=20)  # the greeting
    await asyncio.sleep(4.0)  # let it finish
    speech, rate = read_wav(FIXTURES / "audio" / "financing" / "01.wav")
    await local.say(np.concatenate([resample(speech, rate, RATE), np.zeros(RATE * 2, np.int16)]))
    heard_before_answer = local.heard_audio().size
    await eventually(lambda: loudest_rms(local.heard_audio()[heard_before_answer:]) > 0.02, timeout_s=30)
    await asyncio.sleep(2.0)
    local.call.caller_left()
    runner = app[CALL_RUNNER]
    await eventually(lambda: not runner.active(), timeout_s=20)
    call = await app[CALL_LOG].get(room)
    assert call is not None and call.outcome == "answered_question" and len(call.turns) == 1
    assert sample("agent_voice_to_voice_seconds_count", channel="livekit") == v2v_before + 1
    for stage in stages:
        assert (
            sample("agent_call_turn_stage_seconds_count", channel="livekit", stage=stage) == before[stage] + 1
        )
    v2v_ms = call.turns[0]["voice_to_voice_ms"]
    assert sample("agent_voice_to_voice_seconds_sum", channel="livekit") >= v2v_ms / 1000 - 1e-6
