"""Yes/no answers and self-corrections in replies to a confirmation question."""

from __future__ import annotations

import pytest

from agent.dialog.nlu.confirmations import correction_tail, is_correction, parse_yes_no

pytestmark = pytest.mark.unit

YES_NO = [
    ("yeah that works", "yes"),
    ("sounds good", "yes"),
    ("correct", "yes"),
    ("yep", "yes"),
    ("sure", "yes"),
    ("Yes, please.", "yes"),
    ("that's right", "yes"),
    ("uh huh", "yes"),
    ("okay", "yes"),
    ("perfect", "yes"),
    ("go ahead and book it", "yes"),
    ("no problem", "yes"),
    ("no no that's fine", "yes"),
    ("no", "no"),
    ("nope", "no"),
    ("No.", "no"),
    ("that's wrong", "no"),
    ("not quite", "no"),
    ("not right", "no"),
    ("no thanks", "no"),
    ("yeah no", "no"),
    ("that doesn't work for me", "no"),
    ("nah", "no"),
    ("yes", "yes"),
    ("yes that's correct", "yes"),
    ("Yes, that's correct.", "yes"),
    ("yes that's right", "yes"),
    ("that's right", "yes"),
    ("yep, sounds good", "yes"),
    ("sure thing", "yes"),
    ("correct.", "yes"),
    ("No thanks.", "no"),
    ("nope, that's all", "no"),
    ("I don't know", None),
    ("maybe", None),
    ("tuesday", None),
    ("good morning", None),
    ("", None),
    ("hmm", None),
]


@pytest.mark.parametrize(("text", "expected"), YES_NO)
def test_parse_yes_no(text: str, expected: str | None) -> None:
    assert parse_yes_no(text) == expected


CORRECTIONS = [
    ("actually, make it Thursday", True),
    ("no wait, 2 pm", True),
    ("change that to Friday", True),
    ("I meant Tuesday", True),
    ("can we do 3 instead", True),
    ("sorry I said ten not two", True),
    ("how about Friday", True),
    ("hold on, the 14th", True),
    ("yes", False),
    ("sounds good", False),
    ("no", False),
    ("no no that's fine", False),
    ("my name is John", False),
    ("", False),
]


@pytest.mark.parametrize(("text", "expected"), CORRECTIONS)
def test_is_correction(text: str, expected: bool) -> None:
    assert is_correction(text) is expected


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        ("Tuesday, no, Wednesday", "Wednesday"),
        ("Friday at 2, no wait, 3 pm", "3 pm"),
        ("actually, make it Monday instead", "Monday instead"),
        ("sorry, my name is Jon", "my name is Jon"),
        ("I mean the 14th", "the 14th"),
        ("yes", None),
        ("Friday at 2", None),
        ("nope", None),
    ],
)
def test_correction_tail_is_what_the_caller_said_last(text: str, tail: str | None) -> None:
    assert correction_tail(text) == tail
