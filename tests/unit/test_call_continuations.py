"""What the listener makes of what callers say: a paused sentence joined whole, a garbled number decoded again."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from agent.calls.factory import CallFactory
from agent.calls.listener import tail_sound_level
from agent.calls.session import CallParts
from agent.calls.turn_taking import TurnTakingConfig, garbled_number
from agent.speech.stt import Transcript
from telephony.replay import CallerTurn, ReplayCall
from tests.unit.test_call_session import (
    BurstSTT,
    Events,
    ScriptedConversations,
    ToneTTS,
    burst,
    loud_frames,
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
    return BurstSTT(
        {"short": "Actually,", 1: "make it Wednesday at 2.", 2: "Actually, make it Wednesday at 2."}
    )


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


class NumberSTT(BurstSTT):
    """The more accurate model: hears the phone number whole."""

    def __init__(self) -> None:
        super().__init__({1: "555-014-9876."})


@pytest.mark.parametrize(
    ("text", "awaiting", "garbled"),
    [
        ("555-VID-142468", "phone", True),
        ("It's 555-VID-114-9876.", "phone", True),  # ten digits, but an "oh" Whisper spelled as letters
        ("555 014 and 9876", "phone", True),  # ten digits with a word in them: worth a second look too
        ("5, 5, 5, 5, 5, 5, 5, 5, 5, 5", "phone", True),  # a loop, though ten digits
        ("555-014-9876.", "phone", False),
        ("I don't have it handy.", "phone", False),  # nothing number-like: nothing to decode again
        ("Hi, my number is 555-014-881 and I need an oil change.", None, True),  # volunteered, short a digit
        ("Do you have a used 2019 Camry under 25,000?", None, False),
        ("Friday at 3 in the afternoon.", None, False),
    ],
)
def test_which_numbers_get_a_second_decode(text: str, awaiting: str | None, garbled: bool) -> None:
    assert garbled_number(text, awaiting) is garbled


async def test_a_garbled_phone_number_is_decoded_again_by_the_accurate_model() -> None:
    convo = ScriptedConversations(["Thanks. Let me read that back."], awaiting="phone")
    fast, accurate = BurstSTT({1: "555-VID-142468."}), NumberSTT()
    call = ReplayCall([CallerTurn(np.concatenate([burst(1.5), silence(2.5)]))], max_call_s=60)
    parts = CallParts(convo, fast, ToneTTS(), Events(), second_stt=accurate)
    session = CallFactory(parts, scripted_config()).session(call)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == ["555-014-9876."]
    assert accurate.calls == 1


async def test_the_second_decode_is_kept_only_when_it_heard_the_number_whole() -> None:
    convo = ScriptedConversations(["Sorry, what's the number?"], awaiting="phone")
    fast, accurate = BurstSTT({1: "555-VID-142468."}), BurstSTT({1: "Bye bye."})
    call = ReplayCall([CallerTurn(np.concatenate([burst(1.5), silence(2.5)]))], max_call_s=60)
    parts = CallParts(convo, fast, ToneTTS(), Events(), second_stt=accurate)
    await asyncio.wait_for(CallFactory(parts, scripted_config()).session(call).run(), 60)
    assert convo.turns == ["555-VID-142468."]  # not "Bye bye.": that would end the call


async def test_a_number_heard_whole_is_checked_by_the_accurate_model_which_wins() -> None:
    # tiny.en hears "oh one four" as "one one four" and the number still looks whole: base hears it right
    convo = ScriptedConversations(["Thanks. Let me read that back."], awaiting="phone")
    fast, accurate = BurstSTT({1: "555-114-9876."}), NumberSTT()
    call = ReplayCall([CallerTurn(np.concatenate([burst(1.5), silence(2.5)]))], max_call_s=60)
    session = CallFactory(
        CallParts(convo, fast, ToneTTS(), Events(), second_stt=accurate), scripted_config()
    ).session(call)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == ["555-014-9876."] and accurate.calls == 1
    assert fast.calls == 0  # the dialog waits for a number: base decodes first, and it heard one


async def test_agreeing_again_after_a_booking_was_written_gets_no_answer_of_its_own() -> None:
    convo = ScriptedConversations(["You're all set.", "Anything else?"])
    convo.revocable = False  # "yes" wrote the booking
    stt = BurstSTT({"short": "Yes.", 1: "that's correct.", 2: "Yes. That's correct."})
    tts = ToneTTS()
    session, _call, _ = session_for([paused_sentence(0.7)], convo, stt, tts)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == ["Yes."]  # "that's correct" was not sent to the dialog as a turn of its own
    assert "Anything else?" not in tts.said
    # ... but the call's transcript keeps every word the caller said
    assert [record.caller_text for record in session.turns] == ["Yes. That's correct."]


async def test_a_reply_talked_over_by_an_agreement_that_adds_nothing_is_said_again_whole() -> None:
    # "Yes, [the read-back starts] use that one.": the caller talked over the reply, so it is said again, not
    # dropped (the agent used to fall silent there, the caller waiting for a read-back that never came)
    readback = (
        "Let me read that back: an oil change on Friday at 9 in the morning, for Amy Brown. Is that right?"
    )
    convo = ScriptedConversations([readback, "Anything else?"])
    convo.revocable = False
    stt = BurstSTT({"short": "Yes.", 1: "use that one.", 2: "Yes, use that one."})
    tts = ToneTTS()
    session, _call, _ = session_for([paused_sentence(0.7)], convo, stt, tts)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == ["Yes."]
    assert session.barge_ins  # the caller did talk over the read-back
    assert tts.said.count("Let me read that back:") == 2 and "Anything else?" not in tts.said


async def test_a_filler_in_the_pause_does_not_stop_the_answer() -> None:
    convo = ScriptedConversations(["Go on.", "Sure."])
    stt = BurstSTT({"short": "Actually,", 2: "Actually,"})  # Whisper drops the "um" of the second burst
    tts = ToneTTS()
    turn = CallerTurn(np.concatenate([burst(0.5), silence(0.7), burst(0.2), silence(3.0)]))
    session, _call, _ = session_for([turn], convo, stt, tts)
    await asyncio.wait_for(session.run(), 60)
    assert stt.calls == 2  # the "um" was heard, and the utterance decoded again whole
    assert convo.turns == ["Actually,"] and session.barge_ins == []


async def test_a_last_digit_too_short_to_count_as_speech_is_heard_in_a_last_look() -> None:
    # "555, 014, 987" and then a short "six" the VAD does not take for speech: the number waits for the rest,
    # and once the wait is over the whole utterance, that "six" included, is decoded again
    convo = ScriptedConversations(["Thanks. Let me read that back."], awaiting="phone")
    stt = BurstSTT()
    said = np.concatenate([burst(0.8), silence(0.5), burst(0.8), silence(0.6), burst(0.04), silence(3.0)])
    call = ReplayCall([CallerTurn(said)], max_call_s=60)
    await asyncio.wait_for(
        CallFactory(CallParts(convo, stt, ToneTTS(), Events()), scripted_config()).session(call).run(), 60
    )
    assert convo.turns == ["five five five oh one four nine eight seven six"]


class ClockedSTT(BurstSTT):
    """BurstSTT that notes the call's media time at each decode it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.call: ReplayCall | None = None
        self.asked_at_s: list[float] = []

    async def transcribe(self, samples16k: Any, *, hint: str | None = None) -> Transcript:
        assert self.call is not None
        self.asked_at_s.append(self.call.now())
        return await super().transcribe(samples16k, hint=hint)


async def test_the_last_look_begins_as_soon_as_the_sound_after_the_speech_has_ended() -> None:
    # the "six" ends 0.64 s after the second group's speech, the number's patient silence 1.3 s after it: the
    # last look does not wait for that silence, so the caller does not wait for one more decode after it
    convo = ScriptedConversations(["Thanks. Let me read that back."], awaiting="phone")
    stt = ClockedSTT()
    said = np.concatenate([burst(0.8), silence(0.5), burst(0.8), silence(0.6), burst(0.04), silence(3.0)])
    stt.call = call = ReplayCall([CallerTurn(said)], max_call_s=60)
    await asyncio.wait_for(
        CallFactory(CallParts(convo, stt, ToneTTS(), Events()), scripted_config()).session(call).run(), 60
    )
    assert convo.turns == ["five five five oh one four nine eight seven six"]
    assert stt.calls == 3  # the first group, both groups, and the last look with the "six"
    both_groups_at = stt.asked_at_s[1]  # the second group's speech end + the VAD's 0.3 s grace
    assert stt.asked_at_s[2] - both_groups_at < 0.64 - 0.3 + 0.3  # the "six" over, not the 1.3 s silence


class TrailingSyllableSTT(BurstSTT):
    """Hears "a Holland" when the audio stops with the loud part of the word, "a Highlander" when the quiet last
    syllable after it (frames well under the loud ones) is in the audio too."""

    async def transcribe(self, samples16k: Any, *, hint: str | None = None) -> Transcript:
        self.calls += 1
        audio = np.asarray(samples16k)
        frames = audio[: audio.size // 320 * 320].reshape(-1, 320).astype(np.float32)
        levels = np.sqrt((frames**2).mean(axis=1))
        last_loud = int(np.flatnonzero(levels > 1000)[-1])
        quiet_after = bool(np.any((levels[last_loud + 1 :] > 300) & (levels[last_loud + 1 :] < 1000)))
        car = "Highlander" if quiet_after else "Holland"
        return Transcript(f"I'd like to test drive a {car}.", 0.0, -0.1, audio.size / 16000, "en")


async def test_a_quiet_last_syllable_after_the_speech_ended_is_heard_in_a_last_look() -> None:
    # "High-lan" loud, a dip, "-der" at a fifth of the level: too short and (to webrtcvad) unvoiced to be speech,
    # and under half the loud frames; it is still four times the quiet, so the turn is decoded once more with it
    # (the answer prepared for "a Holland" before the syllable came is taken back, never said)
    convo = ScriptedConversations(["The Holland, sure?", "The Highlander, sure. What day works for you?"])
    stt = TrailingSyllableSTT()
    tts = ToneTTS()
    syllable = (burst(0.04) // 5).astype(np.int16)
    said = np.concatenate([burst(1.5), silence(0.4), syllable, silence(3.0)])
    call = ReplayCall([CallerTurn(said)], max_call_s=60)
    session = CallFactory(CallParts(convo, stt, tts, Events()), scripted_config()).session(call)
    await asyncio.wait_for(session.run(), 60)
    assert [turn.caller_text for turn in session.turns] == ["I'd like to test drive a Highlander."]
    assert (
        convo.turns[-1] == "I'd like to test drive a Highlander."
        and len(convo.taken_back) == len(convo.turns) - 1
    )
    assert [turn.agent_text for turn in session.turns] == ["The Highlander, sure. What day works for you?"]
    heard_s = loud_frames(np.concatenate(call.log.agent)).sum() * 0.02  # ToneTTS: 0.25 s a word
    assert heard_s < (5 + 8 + 3) * 0.25 - 0.3  # the greeting and the Highlander's answer, not the Holland's
    assert stt.calls == 2


async def test_a_number_left_unfinished_in_silence_is_not_decoded_again() -> None:
    convo = ScriptedConversations(["Sorry, what's the rest of the number?"], awaiting="phone")
    stt = BurstSTT()
    said = np.concatenate([burst(0.8), silence(0.5), burst(0.8), silence(3.0)])
    call = ReplayCall([CallerTurn(said)], max_call_s=60)
    await asyncio.wait_for(
        CallFactory(CallParts(convo, stt, ToneTTS(), Events()), scripted_config()).session(call).run(), 60
    )
    assert convo.turns == ["five five five oh one four"]
    assert stt.calls == 2  # each group once as it ended, nothing more


async def test_a_sound_too_short_for_speech_right_after_a_whole_number_is_heard_in_a_last_look() -> None:
    # Whisper made a whole number of "... 987" (a made-up last digit); the short "six" after it is no speech to
    # the VAD: the turn is decoded once more with it before it is taken
    convo = ScriptedConversations(["Thanks. Let me read that back."], awaiting="phone")
    stt = BurstSTT({2: "555-014-9870.", 3: "555-014-9876."})
    said = np.concatenate([burst(0.8), silence(0.5), burst(0.8), silence(0.25), burst(0.04), silence(3.0)])
    call = ReplayCall([CallerTurn(said)], max_call_s=60)
    parts = CallParts(convo, stt, ToneTTS(), Events())
    await asyncio.wait_for(CallFactory(parts, scripted_config()).session(call).run(), 60)
    assert convo.turns == ["555-014-9876."]


def loud_tail_frames(decoded: np.ndarray, utterance: np.ndarray) -> int:
    """How many 20 ms frames after `decoded` in `utterance` are sound worth a last look."""
    tail = utterance[decoded.size :]
    frames = tail[: tail.size // 320 * 320].reshape(-1, 320).astype(np.float64) / 32768
    levels = np.sqrt((frames**2).mean(axis=1))
    return int(np.sum(levels >= tail_sound_level(decoded, energy_threshold=0.012)))


def test_a_lines_steady_noise_after_the_speech_is_no_sound_worth_a_last_look() -> None:
    noise = np.random.default_rng(7).normal(0, 1100, 16000 * 3).astype(np.int16)  # ~10 dB under the voice
    decoded = np.concatenate([noise[:4800], burst(1.5) + noise[4800:28800], noise[28800:30720]])
    utterance = np.concatenate([decoded, noise[30720:40000]])
    assert loud_tail_frames(decoded, utterance) < 2
    syllable = (burst(0.06) // 2).astype(np.int16) + noise[40000:40960]
    assert loud_tail_frames(decoded, np.concatenate([utterance, syllable, noise[41000:44000]])) >= 2
