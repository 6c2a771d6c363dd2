"""The early decode: Whisper starts on a turn inside the VAD's end-of-speech grace, and a caller who goes on
within that grace still gets one turn for the whole utterance."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from agent.calls.factory import CallFactory
from agent.calls.session import CallParts
from agent.speech.stt import Transcript
from telephony.replay import CallerTurn, ReplayCall
from tests.unit.test_call_session import (
    BurstSTT,
    Events,
    ScriptedConversations,
    ToneTTS,
    burst,
    count_bursts,
    scripted_config,
    silence,
)

pytestmark = pytest.mark.unit
RATE = 16000


def trailing_quiet_s(audio: np.ndarray) -> float:
    loud = np.flatnonzero(np.abs(audio) > 1000)
    return (audio.size - (loud[-1] + 1 if loud.size else 0)) / RATE


class RecordingSTT(BurstSTT):
    """BurstSTT that keeps every audio it was asked to decode."""

    def __init__(self) -> None:
        super().__init__()
        self.decoded: list[np.ndarray] = []

    async def transcribe(self, samples16k: Any, *, hint: str | None = None) -> Transcript:
        self.decoded.append(np.asarray(samples16k))
        return await super().transcribe(samples16k, hint=hint)


async def call(said: np.ndarray, stt: BurstSTT, convo: ScriptedConversations) -> None:
    parts = CallParts(convo, stt, ToneTTS(), Events())
    session = CallFactory(parts, scripted_config()).session(ReplayCall([CallerTurn(said)], max_call_s=60))
    await asyncio.wait_for(session.run(), 60)


async def test_a_turn_is_decoded_before_the_end_of_speech_grace_is_over() -> None:
    convo = ScriptedConversations(["Thanks."])
    stt = RecordingSTT()
    await call(np.concatenate([burst(1.0), silence(3.0)]), stt, convo)
    assert convo.turns == ["five five five"]
    assert len(stt.decoded) == 1
    # the decode began after 0.16 s of the 0.3 s grace: the audio it heard ends that soon after the speech
    assert trailing_quiet_s(stt.decoded[0]) < 0.25


async def test_a_pause_inside_the_grace_drops_the_early_decode_and_the_utterance_is_one_turn() -> None:
    convo = ScriptedConversations(["Thanks."])
    stt = RecordingSTT()
    await call(np.concatenate([burst(0.8), silence(0.22), burst(0.8), silence(3.0)]), stt, convo)
    assert convo.turns == ["five five five oh one four"]  # answered once, for both groups
    assert [count_bursts(d) for d in stt.decoded] == [1, 2]  # the first group's early decode was dropped
