"""Spoken numbers turned into digits."""

from __future__ import annotations

import pytest

from agent.dialog.nlu.spoken_numbers import digitize, ordinal_suffix, split_numbers, words_to_int

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zero", 0),
        ("seven", 7),
        ("fourteen", 14),
        ("twenty five", 25),
        ("twenty-five", 25),
        ("one hundred and five", 105),
        ("a hundred", 100),
        ("nineteen hundred", 1900),
        ("twenty five thousand", 25000),
        ("25 thousand", 25000),
        ("two thousand twenty two", 2022),
        ("three hundred forty five thousand six hundred", 345600),
        ("two million five hundred thousand", 2_500_000),
        ("1,200", 1200),
        ("42", 42),
        ("", None),
        ("ten thirty", None),  # two numbers, not one
        ("twenty dollars", None),
        ("hello", None),
    ],
)
def test_words_to_int(text: str, expected: int | None) -> None:
    assert words_to_int(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ten thirty", "10 30"),
        ("nine fifteen", "9 15"),
        ("five five five", "5 5 5"),
        ("twenty twenty two camry", "20 22 camry"),
        ("under twenty five thousand dollars", "under 25000 dollars"),
        ("thirty five grand", "35 grand"),
        ("under 20 thousand", "under 20000"),
        ("five and six", "5 and 6"),
        ("no numbers here", "no numbers here"),
        ("Twenty Five", "25"),
    ],
)
def test_digitize(text: str, expected: str) -> None:
    assert digitize(text) == expected


def test_digitize_ordinals_only_when_asked() -> None:
    assert digitize("december twenty first", ordinals=True) == "december 21st"
    assert digitize("the third", ordinals=True) == "the 3rd"
    assert digitize("the third") == "the third"


def test_split_numbers_and_suffixes() -> None:
    assert split_numbers(["twenty", "two", "thirty", "three"]) == ["22", "33"]
    assert [ordinal_suffix(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101)] == [
        "st",
        "nd",
        "rd",
        "th",
        "th",
        "th",
        "th",
        "st",
        "nd",
        "rd",
        "st",
    ]
