"""Answers prepared in the caller's end-of-turn silence: said at once when the turn is taken, never when the caller
went on, and never for the answer to a read-back."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from agent.calls.turn_taking import TurnTakingConfig
from telephony.replay import CallerTurn
from tests.unit.test_call_session import (
    BurstSTT,
    ScriptedConversations,
    ToneTTS,
    burst,
    loud_frames,
    scripted_config,
    session_for,
    silence,
)

pytestmark = pytest.mark.unit
WORD_S = 0.25  # ToneTTS: a quarter second of tone a word
GREETING_WORDS = 5  # "Thanks for calling Riverside Motors."


def heard_words(call_log_agent: list[np.ndarray]) -> float:
    """How many words of ToneTTS audio the caller heard."""
    return float(loud_frames(np.concatenate(call_log_agent)).sum() * 0.02 / WORD_S)


def stt() -> BurstSTT:
    return BurstSTT(
        {"short": "Actually,", 1: "I'd like to book an oil change.", 2: "Actually, make it Wednesday."}
    )


async def test_a_finished_turns_answer_is_prepared_in_the_silence_and_said_when_the_turn_is_taken() -> None:
    convo = ScriptedConversations(["Sure. What day works best?"])
    tts = ToneTTS()
    turn = CallerTurn(np.concatenate([burst(1.2), silence(2.5)]))
    session, call, _ = session_for([turn], convo, stt(), tts)
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == ["I'd like to book an oil change."]  # the dialog answered it once
    assert session.report.answers_prepared == 1 and session.report.prepared_unsaid == 0
    assert [t.agent_text for t in session.turns] == ["Sure. What day works best?"]
    assert heard_words(call.log.agent) == pytest.approx(GREETING_WORDS + 5, abs=0.5)


async def test_a_caller_who_goes_on_inside_the_silence_never_hears_the_prepared_answer() -> None:
    # "Actually," and a pause longer than the VAD's grace but shorter than the end-of-turn silence: the answer to
    # "Actually," was prepared; the caller went on, so it is taken back unsaid and the whole sentence answered
    convo = ScriptedConversations(["Go on.", "Wednesday it is. Anything else?"])
    tts = ToneTTS()
    turn = CallerTurn(np.concatenate([burst(0.5), silence(0.38), burst(1.2), silence(2.5)]))
    session, call, _ = session_for([turn], convo, stt(), tts)
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == ["Actually,", "Actually, make it Wednesday."]
    assert convo.taken_back == ["turn-1"]
    assert session.report.prepared_unsaid == 1
    assert [t.caller_text for t in session.turns] == ["Actually, make it Wednesday."]
    assert heard_words(call.log.agent) == pytest.approx(GREETING_WORDS + 5, abs=0.5)  # not "Go on."


async def test_a_prepared_answer_with_a_lasting_result_is_said_before_the_rest_is_answered() -> None:
    # the dialog cannot take the first turn back (it wrote something): its answer is not lost, it is said first
    convo = ScriptedConversations(["Done.", "Wednesday it is."])
    convo.revocable = False
    tts = ToneTTS()
    turn = CallerTurn(np.concatenate([burst(0.5), silence(0.38), burst(1.2), silence(2.5)]))
    session, call, _ = session_for([turn], convo, stt(), tts)
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == ["Actually,", "make it Wednesday."]  # the rest only: the first stands
    assert heard_words(call.log.agent) == pytest.approx(GREETING_WORDS + 1 + 3, abs=0.5)


@pytest.mark.parametrize(
    ("said", "prepared"), [("Yes, that's right.", 0), ("Yappo.", 0), ("No, make it Monday instead.", 1)]
)
async def test_a_yes_to_a_read_back_is_not_prepared_a_change_is(said: str, prepared: int) -> None:
    # a yes there books: "yes, [pause] but make it 3" must not have booked already
    convo = ScriptedConversations(["You're all set."], awaiting="confirm")
    turn = CallerTurn(np.concatenate([burst(1.2), silence(2.5)]))
    session, _call, _ = session_for([turn], convo, BurstSTT({1: said}), ToneTTS())
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == [said]
    assert session.report.answers_prepared == prepared


async def test_preparing_answers_can_be_turned_off() -> None:
    config = scripted_config()
    listener = replace(config.listener, turns=TurnTakingConfig(prepare_answers=False))
    convo = ScriptedConversations(["Sure. What day works best?"])
    turn = CallerTurn(np.concatenate([burst(1.2), silence(2.5)]))
    session, _call, _ = session_for([turn], convo, stt(), ToneTTS(), replace(config, listener=listener))
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == ["I'd like to book an oil change."]
    assert session.report.answers_prepared == 0


async def test_a_caller_who_goes_on_twice_is_answered_once_for_the_whole_utterance() -> None:
    # a pause inside the silence (the prepared answer dropped), then a longer one after the turn was taken (a
    # continuation): the turn answered after the first pause must still be joined to the rest (it was answered
    # under a copy of the listener's turn, and found again by its speech, not by the object)
    phrases = {
        1: "I'd like to schedule a battery replacement.",
        2: "I'd like to schedule a battery replacement for Friday.",
        3: "I'd like to schedule a battery replacement for Friday at 1 in the afternoon.",
    }
    convo = ScriptedConversations(["What day?", "What time on Friday?", "Friday at 1 it is."])
    said = np.concatenate([burst(0.8), silence(0.38), burst(0.5), silence(0.8), burst(0.9), silence(2.5)])
    session, _call, _ = session_for([CallerTurn(said)], convo, BurstSTT(phrases), ToneTTS())
    await asyncio.wait_for(session.run(), 30)
    assert [t.caller_text for t in session.turns] == [phrases[3]]  # answered once, for all of it
    assert convo.turns[-1] == phrases[3] and len(convo.taken_back) == len(convo.turns) - 1


async def test_the_rest_of_a_sentence_after_a_short_answer_is_prepared_whole() -> None:
    # "Actually," answered ("Okay.", heard whole), then the rest 1 s later: a continuation, prepared in its
    # silence as the whole utterance (the first turn taken back), and the caller hears the answer to all of it
    convo = ScriptedConversations(["Okay.", "Wednesday it is."])
    tts = ToneTTS()
    turn = CallerTurn(np.concatenate([burst(0.5), silence(1.0), burst(1.2), silence(2.5)]))
    session, call, _ = session_for([turn], convo, stt(), tts)
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == ["Actually,", "Actually, make it Wednesday."] and convo.taken_back == ["turn-1"]
    assert [t.caller_text for t in session.turns] == ["Actually, make it Wednesday."]
    assert session.report.answers_prepared == 2 and session.report.prepared_unsaid == 0
    assert heard_words(call.log.agent) == pytest.approx(GREETING_WORDS + 1 + 3, abs=0.5)
