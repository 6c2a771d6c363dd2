"""A family name heard over the phone band without the final "s" the band took: given back when far likelier."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agent.audio.resample import resample
from agent.calls.factory import CallFactory
from agent.calls.session import CallParts
from agent.dialog.nlu.name_frequency import with_lost_s_restored
from telephony.replay import CallerTurn, ReplayCall
from tests.unit.test_call_session import (
    RATE,
    BurstSTT,
    Events,
    ScriptedConversations,
    ToneTTS,
    burst,
    scripted_config,
    silence,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("heard", "kept"),
    [
        ("Anna, Brooke,", "Anna, Brooks,"),  # the corpus's noisy cafe caller, over 8 kHz mu-law
        ("Anna Brooke.", "Anna Brooks."),
        ("Tony Evan.", "Tony Evans."),
        ("My name is John William.", "My name is John Williams."),
        ("Mary Jone", "Mary Jones"),
    ],
)
def test_a_family_name_far_likelier_with_an_s_gets_it_back(heard: str, kept: str) -> None:
    assert with_lost_s_restored(heard) == kept


@pytest.mark.parametrize(
    "heard",
    [
        "Walter King.",  # "Kings" is no common family name
        "Laura Young.",  # "Youngs" is rare beside "Young"
        "Paul Martin.",
        "Jason Lee.",
        "Megan Adams.",  # it has its "s"
        "It's Peter.",  # a given name alone: "Peters" would be a guess
        "My name is Edward.",
        "Anna",
        "Sorry, my name is Jon, J-O-N, with no H.",
        "",
    ],
)
def test_other_names_stay_as_heard(heard: str) -> None:
    assert with_lost_s_restored(heard) == heard


def _name_said(rate: int) -> list[CallerTurn]:
    audio = np.concatenate([burst(1.2), silence(2.5)])
    return [CallerTurn(audio if rate == RATE else resample(audio, RATE, rate))]


@pytest.mark.parametrize(("rate", "booked_as"), [(8000, "Anna Brooks."), (16000, "Anna Brooke.")])
async def test_only_a_phone_band_call_gives_the_s_back(rate: int, booked_as: str) -> None:
    # on a wide band Whisper hears an "s" that was said: "Brooke" there is what the caller said
    convo = ScriptedConversations(["Thanks, Anna. And your phone number?"], awaiting="name")
    stt = BurstSTT({1: "Anna Brooke."})
    call = ReplayCall(_name_said(rate), input_rate=rate, output_rate=rate, max_call_s=60)
    session = CallFactory(CallParts(convo, stt, ToneTTS(), Events()), scripted_config()).session(call)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == [booked_as]


async def test_only_the_answer_to_the_name_question_is_changed() -> None:
    convo = ScriptedConversations(["Got it."], awaiting="service")
    stt = BurstSTT({1: "Anna Brooke."})
    call = ReplayCall(_name_said(8000), input_rate=8000, output_rate=8000, max_call_s=60)
    session = CallFactory(CallParts(convo, stt, ToneTTS(), Events()), scripted_config()).session(call)
    await asyncio.wait_for(session.run(), 60)
    assert convo.turns == ["Anna Brooke."]
