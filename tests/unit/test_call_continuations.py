"""A caller who pauses mid-sentence and goes on is answered once, for the whole utterance (scripted timeline)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agent.calls.turn_taking import TurnTakingConfig
from telephony.replay import CallerTurn
from tests.unit.test_call_session import (
    BurstSTT,
    ScriptedConversations,
    ToneTTS,
    burst,
    scripted_config,
    session_for,
    silence,
)

pytestmark = pytest.mark.unit


def paused_sentence(pause_s: float) -> CallerTurn:
    """ "Actually," (a short burst), a pause, then the rest of the sentence (a long burst)."""
    return CallerTurn(np.concatenate([burst(0.5), silence(pause_s), burst(1.4), silence(2.5)]))


def stt() -> BurstSTT:
    """The fragment alone is "Actually,"; the whole utterance (two bursts, decoded again whole) is the sentence."""
    return BurstSTT({"short": "Actually,", 1: "make it Wednesday at 2.", 2: "Actually, make it Wednesday at 2."})


async def test_a_pause_after_the_first_word_is_joined_to_the_rest_of_the_sentence() -> None:
    convo = ScriptedConversations(["Go on.", "Wednesday at 2 it is. Anything else?"])
    tts = ToneTTS()
    session, _call, _ = session_for([paused_sentence(0.8)], convo, stt(), tts)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == ["Actually,", "Actually, make it Wednesday at 2."]
    assert convo.taken_back == ["turn-1"]  # the dialog forgot the fragment before hearing it whole
    assert [t.caller_text for t in session.turns] == ["Actually, make it Wednesday at 2."]
    assert tts.said[-1] == "Wednesday at 2 it is. Anything else?"


async def test_a_turn_with_a_lasting_result_is_not_taken_back_and_its_answer_is_heard() -> None:
    convo = ScriptedConversations(["You're all set.", "You're welcome."])
    convo.revocable = False  # the first answer wrote a booking
    tts = ToneTTS()
    session, _call, _ = session_for([paused_sentence(0.8)], convo, stt(), tts)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == ["Actually,", "make it Wednesday at 2."]
    assert convo.taken_back == []
    assert any("You're all set." in said for said in tts.said)


async def test_a_pause_longer_than_the_window_is_a_new_turn() -> None:
    convo = ScriptedConversations(["Go on.", "Wednesday at 2 it is."])
    config = scripted_config()
    listener = config.listener
    short_window = type(config)(
        type(listener)(listener.vad, TurnTakingConfig(continuation_window_s=0.3)), config.handoff
    )
    session, _call, _ = session_for([paused_sentence(0.8)], convo, stt(), ToneTTS(), short_window)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == ["Actually,", "make it Wednesday at 2."]
    assert convo.taken_back == []
