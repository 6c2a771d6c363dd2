"""Issue 16, findings 8 and 9 inside a call: the maximum call length ends a call politely on any channel, the
recording notice is said before the greeting, and a reused call id never overwrites an earlier recording."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from agent.calls.factory import CallFactory
from agent.calls.runner import CallRunner
from agent.calls.session import CallParts
from agent.calls.time_limit import TIME_LIMIT_REPLY
from agent.config import CallSettings
from telephony.replay import CallerTurn, ReplayCall
from tests.unit.test_call_session import (
    BurstSTT,
    Events,
    ScriptedConversations,
    ToneTTS,
    burst,
    scripted_config,
    silence,
)

pytestmark = pytest.mark.unit
RATE = 16000
NOTICE = "This call is recorded so we can look after you better."


def a_call(
    turns: list[CallerTurn], *, max_call_s: float | None, notice: str = ""
) -> tuple[CallFactory, ReplayCall]:
    """A caller who stays on the line (no hang-up of their own for 100 s of media time)."""
    call = ReplayCall(turns, input_rate=RATE, output_rate=RATE, max_call_s=200, hangup_after_s=100)
    parts = CallParts(
        ScriptedConversations(["Sure, which day?", "And what time?"]), BurstSTT(), ToneTTS(), Events()
    )
    config = replace(scripted_config(), max_call_s=max_call_s, recording_notice=notice)
    return CallFactory(parts, config), call


def spoken(factory: CallFactory) -> list[str]:
    tts = factory.parts.tts
    assert isinstance(tts, ToneTTS)
    return tts.said


async def test_a_call_past_its_maximum_length_is_told_so_and_hung_up() -> None:
    turns = [
        CallerTurn(np.concatenate([burst(1.0), silence(1.0)])),
        CallerTurn(burst(1.0), pause_before_s=30),
    ]
    factory, call = a_call(turns, max_call_s=12.0)
    session = factory.session(call)
    await asyncio.wait_for(session.run(), 60)
    said = " ".join(spoken(factory))  # sentence by sentence
    assert said.endswith(TIME_LIMIT_REPLY)  # the last thing the caller heard is why the call ends
    assert session.ended_by_agent
    assert 12.0 <= call.now() < 30.0  # ended by the agent, long before the caller would have hung up
    conversations = factory.parts.conversations
    assert isinstance(conversations, ScriptedConversations) and len(conversations.turns) == 1  # none after


async def test_without_a_limit_the_caller_hangs_up_as_before() -> None:
    factory, call = a_call([CallerTurn(np.concatenate([burst(1.0), silence(1.0)]))], max_call_s=None)
    session = factory.session(call)
    await asyncio.wait_for(session.run(), 120)
    assert "time limit" not in " ".join(spoken(factory)) and call.now() > 100


async def test_the_recording_notice_comes_before_the_greeting() -> None:
    factory, call = a_call([CallerTurn(silence(0.5))], max_call_s=5.0, notice=NOTICE)
    await asyncio.wait_for(factory.session(call).run(), 60)
    assert spoken(factory)[:2] == [NOTICE, "Thanks for calling Riverside Motors."]


async def test_a_reused_call_id_keeps_every_recording(tmp_path: Path) -> None:
    """A phone that sends the same Call-ID again (or a trunk that reuses them) gets a second recording."""
    recordings = tmp_path / "recordings"
    runner = CallRunner(
        a_call([], max_call_s=3.0)[0],
        CallSettings(recordings_path=recordings, record_calls=True, _env_file=None),
    )
    for _ in range(2):
        factory, call = a_call([CallerTurn(np.concatenate([burst(0.5), silence(0.5)]))], max_call_s=3.0)
        runner.factory = factory
        call.call_id = "reused-call-id@192.0.2.10"
        await asyncio.wait_for(runner.run(call, "sip"), 60)
    files = sorted(recordings.glob("*/*.wav"))
    assert len(files) == 2 and all(f.name.startswith("reused-call-id_192.0.2.10-") for f in files)
