"""Which turns the accurate model hears again, and which of the two decodes the dialog then gets."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from agent.calls.factory import CallFactory
from agent.calls.second_opinion import (
    NAME_PROMPT,
    NUMBER_PROMPT,
    READBACK_ANSWER_PROMPT,
    TIME_PROMPT,
    better_decode,
    hear_with_second_opinion,
    second_opinion_reason,
    whisper_prompt,
    with_fives_heard,
    with_time_heard,
)
from agent.calls.session import CallParts
from agent.dialog.conversation import TurnResult
from agent.dialog.nlu.name_frequency import UNHEARD_OF, name_share
from agent.dialog.state import ConversationState
from agent.speech.stt import SpeechToText, Transcript
from telephony.replay import CallerTurn, ReplayCall
from tests.unit.test_call_session import (
    Events,
    ScriptedConversations,
    ToneTTS,
    burst,
    scripted_config,
    silence,
)

pytestmark = pytest.mark.unit


def heard(text: str, logprob: float = -0.1) -> Transcript:
    return Transcript(text, 0.0, logprob, 1.0, "en")


def test_a_looped_name_is_heard_once_and_the_likelier_hearing_kept() -> None:
    looped = heard("Pony Evans, Pony Evans, Pony Evans, Pony Evans, Pony Evans,")
    assert better_decode(looped, heard("Tony Evans."), "name").text == "Tony Evans."
    assert (
        better_decode(looped, heard(""), "name").text == "Pony Evans."
    )  # base heard nothing: the loop, once


def test_a_time_is_taken_from_the_second_decode_only_when_it_has_one() -> None:
    first = heard("Can I book a tire rotation on Friday, and tell him the morning?")
    right = heard("Can I book a tire rotation on Friday at 10 in the morning?")
    assert better_decode(first, right, "time") is right
    assert better_decode(first, heard("On Friday, and tell them the morning?"), "time") is first
    assert better_decode(first, heard("Friday in the morning."), "time") is first  # no time: no better
    assert better_decode(first, heard(""), "time") is first


@pytest.mark.parametrize(
    ("first", "third", "kept"),
    [
        (
            "I need an oil change on Monday, and in the morning.",
            "I need an oil can't on Monday at 10 in the morning.",
            "I need an oil change on Monday at 10 in the morning.",  # the hour, and the first hearing's words
        ),
        (
            "Saturday, I'm really in the afternoon.",
            "Saturday at 3 in the afternoon.",
            "Saturday at 3 in the afternoon.",
        ),
        (
            "Monday, and in the morning.",
            "Monday at 9 in the morning.",
            None,
        ),  # the prompt's own hour: its echo?
        ("Monday, and in the morning.", "Friday at 10 in the morning.", None),  # another day
        ("Monday, and in the morning.", "Monday, and in the morning.", None),  # no hour this time either
        ("Tuesday at night.", "Tuesday at 10.", None),  # nothing but "at night" to put it on
    ],
)
def test_a_time_heard_the_third_time_replaces_only_the_misheard_time(
    first: str, third: str, kept: str | None
) -> None:
    assert with_time_heard(first, third) == kept


class PromptedSTT(SpeechToText):
    """Hears the words given for its prompt (or `other` for any other prompt); records the prompts."""

    name = "prompted"

    def __init__(self, by_prompt: dict[str | None, str], other: str, logprob: float = -0.3) -> None:
        self.by_prompt, self.other, self.logprob = by_prompt, other, logprob
        self.hints: list[str | None] = []

    async def transcribe(self, samples16k: object, *, hint: str | None = None) -> Transcript:
        self.hints.append(hint)
        return heard(self.by_prompt.get(hint, self.other), self.logprob)


async def test_a_time_neither_model_heard_is_heard_a_third_time_with_times_for_a_prompt() -> None:
    dealership = "Riverside Motors: oil change, tire rotation."
    misheard = "I need an oil change on Monday, and in the morning."
    fast = PromptedSTT({TIME_PROMPT: "I need an oil can't on Monday at 10 in the morning."}, misheard)
    accurate = PromptedSTT({}, "I need a oil change on Monday and in the morning.")
    audio = np.zeros(16000, np.int16)
    kept = await hear_with_second_opinion(fast, accurate, audio, "datetime", dealership)
    assert kept.text == "I need an oil change on Monday at 10 in the morning."
    assert fast.hints == [dealership, TIME_PROMPT]
    # base heard the hour: no third hearing
    fast = PromptedSTT({}, misheard)
    accurate = PromptedSTT({}, "I need an oil change on Monday at 10 in the morning.")
    kept = await hear_with_second_opinion(fast, accurate, audio, "datetime", dealership)
    assert kept.text == "I need an oil change on Monday at 10 in the morning."
    assert fast.hints == [dealership]


@pytest.mark.parametrize(
    ("text", "logprob", "awaiting", "reason"),
    [
        ("555-114-9876.", -0.1, "phone", "number"),  # looks whole: still checked ("oh" heard as "one")
        ("555-VID-142468.", -0.1, "phone", "number"),
        ("Hi, my number is 555-014-881, and I need an oil change.", -0.1, None, "number"),
        ("It's Laura Young, 555-014-6602.", -0.1, None, "number"),  # volunteered with a name
        ("Lotha King.", -1.07, "name", "name"),
        ("Sarah Miller.", -0.21, "name", None),  # sure of itself: tiny.en's words stand
        ("Pony Evans, Pony Evans, Pony Evans, Pony Evans,", -0.1, "name", "name"),  # sure, but looping
        ("Yup.", -0.6, "confirm", None),  # unsure, but no name asked for
        ("Do you have a used 2019 Camry under 25,000?", -0.1, None, None),
        ("I don't have it handy.", -0.1, "phone", None),
        ("", -2.0, "phone", None),  # nothing heard (the guard dropped it): nothing to hear better
        # "at 10" / "at 8" / "at 3" as tiny.en heard them in a formant voice or under noise (real calls)
        (
            "Do you have a shuttle, and can I work at Irotation on Friday, and tell him the morning?",
            -0.3,
            None,
            "time",
        ),
        ("Monday, and in the morning.", -0.3, "time", "time"),
        ("Saturday, I'm green in the afternoon.", -0.3, "datetime", "time"),
        ("Tuesday at night.", -0.3, "time", "time"),
        # a caller's own vague time, or a clock time heard: tiny.en's words stand
        ("Friday in the morning.", -0.3, "time", None),
        ("Tuesday morning works.", -0.3, "time", None),
        ("Friday at 10 in the morning.", -0.3, "time", None),
        ("Friday or Saturday, 3 in the afternoon.", -0.3, "time", None),
        ("Can you fit me in on Monday at one in the afternoon?", -0.1, None, None),
    ],
)
def test_which_turns_get_a_second_opinion(
    text: str, logprob: float, awaiting: str | None, reason: str
) -> None:
    assert second_opinion_reason(heard(text, logprob), awaiting) == reason


def test_a_number_is_taken_from_the_second_decode_only_when_it_is_whole() -> None:
    first = heard("555- here 1-4, 2-2-1-1.")
    assert better_decode(first, heard("555-014-2211."), "number").text == "555-014-2211."
    assert better_decode(first, heard("5x5, 014, 6161."), "number") is first
    assert better_decode(first, heard("500, 500, 500, 500, 5"), "number") is first
    assert better_decode(first, heard("555-014-2211, 555-014-2211, 555-014-2211"), "number") is first
    assert better_decode(first, heard(""), "number") is first


@pytest.mark.parametrize(
    ("first", "again", "kept"),
    [
        ("Lolter King.", "Walter King,", "Walter King,"),
        ("Lotha King.", "Walter King,", "Walter King,"),
        ("Lisa Moore,", "Lisa Moa.", "Lisa Moore,"),  # base was the surer of the two, and wrong
        ("My name is Sarah Miller.", "My name is Sea Meva.", "My name is Sarah Miller."),
        ("George Hill.", "Georgia.", "George Hill."),
        ("Paul Martin.", "Paul Martin, Paul Martin, Paul Martin, Paul Martin", "Paul Martin."),
    ],
)
def test_of_two_hearings_of_a_name_the_likelier_name_is_kept(first: str, again: str, kept: str) -> None:
    assert better_decode(heard(first, -0.9), heard(again, -0.2), "name").text == kept


class FixedSTT(SpeechToText):
    """Hears the same words every time, with the given confidence; counts its calls."""

    name = "fixed"

    def __init__(self, text: str, logprob: float) -> None:
        self.text, self.logprob, self.calls = text, logprob, 0
        self.hints: list[str | None] = []

    async def transcribe(self, samples16k: object, *, hint: str | None = None) -> Transcript:
        self.calls += 1
        self.hints.append(hint)
        return heard(self.text, self.logprob)


async def one_turn_call(
    fast: FixedSTT,
    accurate: FixedSTT,
    replies: list[str],
    awaiting: str = "confirm",
    stt_hint: str | None = None,
) -> ScriptedConversations:
    """One caller turn to a scripted dialog waiting for `awaiting`, heard by `fast` with `accurate` beside it."""
    convo = ScriptedConversations(replies, awaiting=awaiting)
    call = ReplayCall([CallerTurn(np.concatenate([burst(1.5), silence(2.5)]))], max_call_s=60)
    parts = CallParts(convo, fast, ToneTTS(), Events(), second_stt=accurate)
    config = scripted_config()
    config = replace(config, listener=replace(config.listener, stt_hint=stt_hint))
    await asyncio.wait_for(CallFactory(parts, config).session(call).run(), 60)
    return convo


async def test_when_the_second_hearing_is_not_understood_either_the_first_words_are_answered() -> None:
    fast = FixedSTT("Um, I don't know my number off hand.", -0.39)
    accurate = FixedSTT("ROM, I don't know my number of hand.", -0.5)
    replies = [
        "Sorry, I didn't catch that. What's the best number?",
        "Sorry, I didn't catch that.",
        "Sorry, ...",
    ]
    convo = await one_turn_call(fast, accurate, replies)
    assert convo.turns == [fast.text, accurate.text, fast.text]  # the second hearing was tried, then undone
    assert convo.taken_back == ["turn-1", "turn-2"]


async def test_a_number_is_heard_with_a_number_for_a_prompt_not_the_dealerships_words() -> None:
    fast, accurate = FixedSTT("555-014-9876.", -0.3), FixedSTT("555-014-9876.", -0.2)
    hint = "Riverside Motors: oil change, tire rotation. Toyotas. Camry, Highlander."
    convo = await one_turn_call(fast, accurate, ["Thanks."], awaiting="phone", stt_hint=hint)
    assert convo.turns == ["555-014-9876."]
    assert accurate.hints == [NUMBER_PROMPT]
    # the same call waiting for a name: the prompt spells the dealership's words
    fast = FixedSTT("Walter King.", -0.3)
    await one_turn_call(fast, accurate, ["Thanks."], awaiting="name", stt_hint=hint)
    assert fast.hints == [hint]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Time time time, 014-6161.", "five five five, 014-6161."),  # the espeak voice through G.711, base
        ("Bye bye bye, 014, 2233.", "five five five, 014, 2233."),
        ("My number is time time time 014 6161", "My number is five five five 014 6161"),
        ("Time time, 0-14-61-61.", None),  # a five lost altogether: still not a whole number
        ("Any time, 555-014-223", None),  # "any time" is no digit
        ("555-014-223, bye.", None),  # a goodbye after the digits is no last digit
        ("Bye bye bye.", None),
        ("555-014-2233, bye.", None),  # already whole
    ],
)
def test_a_five_heard_as_a_word_counts_only_among_the_digits(text: str, kept: str | None) -> None:
    assert with_fives_heard(heard(text)).text == (kept or text)


async def test_a_number_whose_fives_were_heard_as_words_reaches_the_dialog_whole() -> None:
    fast, accurate = FixedSTT("Time time, 0-14-61-61.", -0.3), FixedSTT("Time time time, 014-6161.", -0.3)
    convo = await one_turn_call(fast, accurate, ["Thanks."], awaiting="phone")
    assert convo.turns == ["five five five, 014-6161."]
    assert fast.calls == 0  # base's hearing was whole: tiny.en was not asked


async def test_an_unsure_name_reaches_the_dialog_as_the_likelier_name() -> None:
    fast, accurate = FixedSTT("Lotha King.", -1.07), FixedSTT("Walter King.", -0.8)
    convo = await one_turn_call(fast, accurate, ["Thanks, and your phone number?"], awaiting="name")
    assert convo.turns == ["Walter King."]


async def test_a_name_heard_with_confidence_is_decoded_once() -> None:
    fast, accurate = FixedSTT("Walter King.", -0.3), FixedSTT("Water King.", -0.1)
    convo = await one_turn_call(fast, accurate, ["Thanks, and your phone number?"], awaiting="name")
    assert convo.turns == ["Walter King."]
    assert accurate.calls == 0


async def test_words_the_dialog_did_not_understand_are_heard_again_before_the_caller_is_asked() -> None:
    fast = FixedSTT("Actually, make it a pyro location instead.", -0.39)  # sure enough: no second opinion
    accurate = FixedSTT("Actually, make it a tire rotation instead.", -0.23)
    replies = [
        "Sorry, I didn't catch that. Let me read that back: an oil change ...",
        "Got it: a tire rotation.",
    ]
    convo = await one_turn_call(fast, accurate, replies)
    assert convo.turns == [
        "Actually, make it a pyro location instead.",
        "Actually, make it a tire rotation instead.",
    ]
    assert convo.taken_back == ["turn-1"]  # the first answer was undone, and only the second one is said
    assert accurate.calls == 1


async def test_heard_the_same_again_the_first_answer_stands() -> None:
    fast = FixedSTT("Blorp.", -0.3)
    accurate = FixedSTT("blorp", -0.2)
    convo = await one_turn_call(fast, accurate, ["Sorry, I didn't catch that. Is that right?"])
    assert convo.turns == ["Blorp."] and convo.taken_back == []


async def test_an_understood_turn_is_not_heard_again() -> None:
    fast, accurate = FixedSTT("Yes.", -0.3), FixedSTT("Yasuo.", -0.2)
    convo = await one_turn_call(fast, accurate, ["You're all set."])
    assert convo.turns == ["Yes."] and accurate.calls == 0


@pytest.mark.parametrize(
    ("reply", "caught"),
    [
        ("Sorry, I didn't catch that. What day works best for an oil change?", False),
        (
            "Sorry, I'm not sure about that one. I can help with service. Or I can connect you with a person.",
            False,
        ),
        ("Sorry, could you say that again?", False),
        ("Sorry, which one was that? I have Monday at noon or 2.", False),
        ("Sorry, I'm having trouble with the number. If it's easier, you can type it.", False),
        ("Sorry, I didn't get your name. Could you spell it for me, letter by letter?", False),
        ("Got it. What's the best phone number to reach you?", True),
        ("Sorry to hear about the noise. We can look at it Monday at 9. Does that work?", True),
    ],
)
def test_a_turn_is_not_caught_when_its_answer_says_so(reply: str, caught: bool) -> None:
    state = ConversationState(session_id="s", reply=reply)
    assert TurnResult(state, 1.0).caught is caught


def test_name_shares_come_from_the_census_lists() -> None:
    assert name_share("Walter") > 0.3 and name_share("moore") > 0.3
    assert name_share("lolter") == UNHEARD_OF


def test_a_short_answer_is_heard_without_the_dealerships_words_unless_they_are_the_answer() -> None:
    dealership = "Riverside Motors: oil change, tire rotation. Camry, Highlander."
    assert whisper_prompt(None, 0.7, dealership) is None  # "Yes." heard as "Yeee-ha." with the prompt
    assert whisper_prompt("name", 0.9, dealership) is None
    assert whisper_prompt("vehicle", 0.7, dealership) == dealership  # "The Highlander."
    assert whisper_prompt("service", 0.7, dealership) == dealership
    assert whisper_prompt(None, 2.5, dealership) == dealership
    assert whisper_prompt("phone", 0.7, dealership) == NUMBER_PROMPT
    # at the read-back, the answers a caller gives there ("Yep." was "Yappo." with no prompt, on the phone band)
    assert whisper_prompt("confirm", 0.7, dealership) == READBACK_ANSWER_PROMPT
    assert whisper_prompt("confirm", 2.5, dealership) == dealership  # "Wait, make it 2 in the afternoon."


async def test_base_hears_a_name_with_a_name_for_a_prompt_not_the_dealerships_cars() -> None:
    # the dealership's words made base loop on a car ("Model 3, Model 3, ..." for "Walter King." in pink noise)
    dealership = "Riverside Motors: oil change. Model 3, Camry."
    fast = PromptedSTT({}, "Lolter King.", logprob=-1.1)  # unsure of the name
    accurate = PromptedSTT({NAME_PROMPT: "Walter King."}, "Model 3, Model 3, Model 3, Model 3,")
    kept = await hear_with_second_opinion(fast, accurate, np.zeros(32000, np.int16), "name", dealership)
    assert kept.text == "Walter King."
    assert accurate.hints == [NAME_PROMPT] and fast.hints == [dealership]


class IdleSTT(FixedSTT):
    """A FixedSTT that says it has no other work, and takes `delay_s` to decode; records starts and ends."""

    def __init__(
        self, text: str, logprob: float = -0.3, delay_s: float = 0.05, log: list[str] | None = None
    ) -> None:
        super().__init__(text, logprob)
        self.delay_s, self.finished = delay_s, 0
        self.log = log if log is not None else []

    @property
    def idle(self) -> bool:
        return True

    async def transcribe(self, samples16k: object, *, hint: str | None = None) -> Transcript:
        self.calls += 1
        self.log.append(f"{self.text.split()[0]} begins")
        await asyncio.sleep(self.delay_s)
        self.finished += 1
        self.log.append(f"{self.text.split()[0]} ends")
        return heard(self.text, self.logprob)


LONG = np.zeros(3 * 16000, np.int16)  # long enough to hold a number said in passing
SHORT = np.zeros(16000, np.int16)


async def test_with_the_models_idle_a_number_is_heard_by_both_at_once_and_base_kept_when_whole() -> None:
    fast, accurate = IdleSTT("555-114-9876.", delay_s=0.5), IdleSTT("555-014-9876.", delay_s=0.05)
    kept = await hear_with_second_opinion(fast, accurate, SHORT, "phone", NUMBER_PROMPT)
    assert kept.text == "555-014-9876."
    assert fast.calls == 1 and fast.finished == 0  # started beside base, dropped once base heard it whole


async def test_with_the_models_idle_tiny_hears_the_number_base_did_not_without_a_second_decode() -> None:
    fast, accurate = IdleSTT("555-014-9876."), IdleSTT("555-014-98.")
    kept = await hear_with_second_opinion(fast, accurate, SHORT, "phone", NUMBER_PROMPT)
    assert kept.text == "555-014-9876."
    assert (fast.calls, accurate.calls) == (1, 1)


async def test_with_the_models_idle_a_long_turn_is_heard_by_base_beside_tiny() -> None:
    log: list[str] = []
    fast = IdleSTT("Hi, my number is 555-114-881, and I need an oil change.", log=log)
    accurate = IdleSTT("Oh hi, my number is 555-014-8812, and I need an oil change.", log=log)
    kept = await hear_with_second_opinion(fast, accurate, LONG, None, None)
    assert kept.text == accurate.text and kept.second_opinion
    assert accurate.calls == 1  # the decode begun beside tiny.en was the one used, not a second one
    assert log.index("Oh begins") < log.index("Hi, ends")  # base began before tiny.en's verdict


async def test_a_side_by_side_decode_not_needed_is_dropped_and_tiny_kept() -> None:
    fast, accurate = (
        IdleSTT("I need an oil change on Friday at 10."),
        IdleSTT("I need a oil change.", delay_s=0.5),
    )
    kept = await hear_with_second_opinion(fast, accurate, LONG, None, None)
    assert kept.text == fast.text and not kept.second_opinion
    assert accurate.calls == 1 and accurate.finished == 0
    # a short answer is not heard twice on the chance of it
    fast, accurate = IdleSTT("Yes, that's right."), IdleSTT("Yes, that's right.")
    await hear_with_second_opinion(fast, accurate, SHORT, "confirm", None)
    assert accurate.calls == 0


async def test_with_either_model_busy_the_second_decode_waits_for_the_first() -> None:
    fast = IdleSTT("I need an oil change on Friday at 10.")
    accurate = FixedSTT("I need a oil change.", -0.3)  # not idle (it cannot say it is)
    kept = await hear_with_second_opinion(fast, accurate, LONG, None, None)
    assert kept.text == fast.text
    assert accurate.calls == 0  # nothing is decoded on a chance while a model has other work
    fast, accurate = FixedSTT("555-014-9876.", -0.3), IdleSTT("555-014-9876.")
    await hear_with_second_opinion(fast, accurate, SHORT, "phone", NUMBER_PROMPT)
    assert fast.calls == 0
