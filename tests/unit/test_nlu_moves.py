"""Caller moves without a booking value: repeat requests, sentence starts, unknown numbers, several requests."""

from __future__ import annotations

import pytest

from agent.dialog.nlu.moves import (
    asks_for_suggestions,
    asks_to_wait,
    conversation_move,
    names_slot,
    says_number_unknown,
    split_clauses,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text",
    [
        "Can you repeat that?",
        "sorry, what was that?",
        "Sorry?",
        "what?",
        "could you say that again please",
        "I didn't catch that",
        "come again?",
        "pardon me",
    ],
)
def test_asks_to_repeat(text: str) -> None:
    assert conversation_move(text) == "repeat"


@pytest.mark.parametrize(
    "text", ["Actually,", "um, and", "so", "Well...", "hold on", "one second", "let me check"]
)
def test_a_sentence_only_begun_or_a_wait_is_held(text: str) -> None:
    assert conversation_move(text) == "hold"


@pytest.mark.parametrize(
    "text",
    [
        "actually, make it Monday",
        "what was the price of the oil change again",  # a question, not "what was that"
        "yes",
        "okay",
        "sorry, my name is Jon",
        "555 014 3344",
        "um, tire rotation Friday at 2",
    ],
)
def test_anything_with_content_is_no_move(text: str) -> None:
    assert conversation_move(text) is None


def test_waiting_is_told_from_a_bare_sentence_start() -> None:
    assert asks_to_wait("hold on a second")
    assert not asks_to_wait("um, and")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I don't know my number", True),
        ("I don't have it handy", True),
        ("I can't remember it", True),
        ("555 014 3344", False),
        ("yes", False),
    ],
)
def test_says_number_unknown(text: str, expected: bool) -> None:
    assert says_number_unknown(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what do you have?", "any"),
        ("I don't know, whenever", "any"),
        ("what times are available", "any"),
        ("the earliest you have", "earliest"),
        ("first available please", "earliest"),
        ("Friday at 2", None),
    ],
)
def test_asks_for_suggestions(text: str, expected: str | None) -> None:
    assert asks_for_suggestions(text) == expected


def test_names_the_detail_to_change() -> None:
    assert names_slot("the time") == "time"
    assert names_slot("my phone number") == "phone"
    assert names_slot("the day") == "day"
    assert names_slot("hmm") is None


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        (
            "what time do you open on Saturday, and can I book an oil change?",
            ["what time do you open on Saturday", "can I book an oil change?"],
        ),
        ("what are your hours and where are you located?", ["what are your hours", "where are you located?"]),
        (
            "Do you offer financing? What do I need to bring?",
            ["Do you offer financing?", "What do I need to bring?"],
        ),
        (
            "this is Dana Kim, 555 014 3344, I need a tire rotation Friday at 2",
            ["this is Dana Kim, 555 014 3344, I need a tire rotation Friday at 2"],
        ),
        ("I need an oil change and a tire rotation", ["I need an oil change and a tire rotation"]),
    ],
)
def test_split_clauses(text: str, clauses: list[str]) -> None:
    assert split_clauses(text) == clauses
