"""Dates and times as callers say them, parsed against a fixed Wednesday morning."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from agent.dialog.nlu.datetimes import WhenParse, parse_when

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 10, 0)  # Wednesday

DAYS = [
    ("next Tuesday", date(2026, 12, 1)),
    ("this Friday", date(2026, 11, 27)),
    ("friday", date(2026, 11, 27)),
    ("next wednesday", date(2026, 12, 2)),
    ("wednesday", date(2026, 12, 2)),
    ("this wednesday", date(2026, 11, 25)),
    ("today", date(2026, 11, 25)),
    ("tomorrow", date(2026, 11, 26)),
    ("day after tomorrow", date(2026, 11, 27)),
    ("in two days", date(2026, 11, 27)),
    ("in 3 days", date(2026, 11, 28)),
    ("in a week", date(2026, 12, 2)),
    ("the 14th", date(2026, 12, 14)),
    ("on the twenty eighth", date(2026, 11, 28)),
    ("December 3rd", date(2026, 12, 3)),
    ("december third", date(2026, 12, 3)),
    ("the 3rd of december", date(2026, 12, 3)),
    ("Dec. 10", date(2026, 12, 10)),
    ("november 2nd", date(2027, 11, 2)),
    ("12/3", date(2026, 12, 3)),
    ("tuesday next week", date(2026, 12, 1)),
    ("friday next week", date(2026, 12, 4)),
    ("a week from tuesday", date(2026, 12, 8)),
    ("this weekend", date(2026, 11, 28)),
    ("monday the 30th", date(2026, 11, 30)),
]


@pytest.mark.parametrize(("text", "expected"), DAYS)
def test_days(text: str, expected: date) -> None:
    assert parse_when(text, NOW).day == expected


DAY_RANGES = [
    ("sometime next week", (date(2026, 11, 30), date(2026, 12, 5))),
    ("next week", (date(2026, 11, 30), date(2026, 12, 5))),
    ("early next week", (date(2026, 11, 30), date(2026, 12, 1))),
    ("later next week", (date(2026, 12, 3), date(2026, 12, 5))),
    ("some time this week in the afternoon", (date(2026, 11, 25), date(2026, 11, 28))),
    ("in the next few days", (date(2026, 11, 26), date(2026, 11, 28))),
]


@pytest.mark.parametrize(("text", "expected"), DAY_RANGES)
def test_a_span_of_days_is_never_one_day_picked_for_the_caller(
    text: str, expected: tuple[date, date]
) -> None:
    parsed = parse_when(text, NOW)
    assert parsed.day is None and parsed.day_range == expected


@pytest.mark.parametrize(
    "text", ["Friday afternoon", "tomorrow morning", "in the evening", "sometime next week"]
)
def test_a_vague_time_is_never_made_exact(text: str) -> None:
    parsed = parse_when(text, NOW)
    assert parsed.time is None
    assert parsed.part_of_day is not None or parsed.day_range is not None


TIMES = [
    ("ten a m", time(10, 0)),
    ("10am", time(10, 0)),
    ("10 a.m.", time(10, 0)),
    ("two p m", time(14, 0)),
    ("half past two", time(14, 30)),
    ("quarter past nine", time(9, 15)),
    ("quarter to four", time(15, 45)),
    ("2:30 pm", time(14, 30)),
    ("Saturday at 10, this is Ann Lee", time(10, 0)),  # "th" of "this" is no ordinal suffix
    ("2:30", time(14, 30)),
    ("noon", time(12, 0)),
    ("at 3", time(15, 0)),
    ("at 9", time(9, 0)),
    ("at 12", time(12, 0)),
    ("around eleven", time(11, 0)),
    ("ten thirty", time(10, 30)),
    ("nine fifteen", time(9, 15)),
    ("one forty five", time(13, 45)),
    ("ten oh five", time(10, 5)),
    ("4 o'clock", time(16, 0)),
    ("seven in the evening", time(19, 0)),
    ("at 5 in the afternoon", time(17, 0)),
    ("at 7", time(7, 0)),
    ("at 8 in the evening", time(20, 0)),
    ("how about 4", time(16, 0)),
    ("3", time(15, 0)),
]


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_times(text: str, expected: time) -> None:
    assert parse_when(text, NOW).time == expected


COMBINED = [
    ("tomorrow afternoon", date(2026, 11, 26), None, "afternoon"),
    ("Tuesday at 10 in the morning", date(2026, 12, 1), time(10, 0), "morning"),
    ("first thing in the morning", None, None, "morning"),
    ("first thing tomorrow", date(2026, 11, 26), None, "morning"),
    ("next Tuesday at ten thirty", date(2026, 12, 1), time(10, 30), None),
    ("can I come in friday at 2:30 pm for an oil change", date(2026, 11, 27), time(14, 30), None),
    ("tonight", date(2026, 11, 25), None, "evening"),
    ("thursday evening at 6", date(2026, 11, 26), time(18, 0), "evening"),
    ("the 14th at noon", date(2026, 12, 14), time(12, 0), None),
    ("december 3rd at nine fifteen", date(2026, 12, 3), time(9, 15), None),
]


@pytest.mark.parametrize(("text", "day", "clock", "part"), COMBINED)
def test_day_time_and_part(text: str, day: date | None, clock: time | None, part: str | None) -> None:
    parsed = parse_when(text, NOW)
    assert (parsed.day, parsed.time, parsed.part_of_day) == (day, clock, part)
    assert parsed.matched_text


NOT_TIMES = [
    "I have a 2022 Camry",
    "my number is 555 014 2233",
    "five five five oh one four two two three three",
    "something under $25,000",
    "under twenty five thousand",
    "it has 50,000 miles on it",
    "do you have a RAV4",
    "a used f 150",
    "good morning I need an oil change",
    "wait a second",
    "hello",
    "",
    "   ",
    "###",
]


@pytest.mark.parametrize("text", NOT_TIMES)
def test_numbers_that_are_not_dates_or_times_are_ignored(text: str) -> None:
    parsed = parse_when(text, NOW)
    assert parsed == WhenParse()
    assert parsed.is_empty


def test_never_returns_a_past_day() -> None:
    for text in ("november 20th", "the 1st", "11/20", "monday", "this monday", "yesterday"):
        day = parse_when(text, NOW).day
        assert day is None or day >= NOW.date(), text


def test_same_weekday_with_next_is_a_week_later() -> None:
    tuesday = datetime(2026, 12, 1, 9, 0)
    assert parse_when("next Tuesday", tuesday).day == date(2026, 12, 8)
    assert parse_when("this Tuesday", tuesday).day == date(2026, 12, 1)


def test_rolls_over_the_year() -> None:
    late_december = datetime(2026, 12, 30, 10, 0)
    assert parse_when("January 5th", late_december).day == date(2027, 1, 5)
    assert parse_when("the 2nd", late_december).day == date(2027, 1, 2)
    assert parse_when("tomorrow", late_december).day == date(2026, 12, 31)


def test_timezone_aware_now_is_accepted() -> None:
    aware = NOW.replace(tzinfo=ZoneInfo("America/Chicago"))
    assert parse_when("next Tuesday at 3", aware) == parse_when("next Tuesday at 3", NOW)


def test_very_long_input_does_not_crash() -> None:
    parse_when("tuesday at ten " * 5000, NOW)
    parse_when("9" * 100_000, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Tuesday, December 4th at 9 in the morning",
            date(2026, 12, 1),
        ),  # the 4th is a Friday: "1st" misheard
        ("Thursday, December 4th", date(2026, 12, 3)),
        ("Tuesday, December 1st", date(2026, 12, 1)),  # weekday and date agree
        ("Friday the 4th", date(2026, 12, 4)),
        ("Tuesday, December 15th", date(2026, 12, 15)),  # agree, two weeks out
    ],
)
def test_a_weekday_and_a_date_that_disagree_become_the_nearest_day_of_that_weekday(
    text: str, expected: date
) -> None:
    assert parse_when(text, NOW).day == expected


def test_a_weekday_that_would_move_the_day_into_the_past_leaves_the_date() -> None:
    assert parse_when("Monday, November 26th", NOW).day == date(2026, 11, 26)  # Monday the 23rd is past
