"""Vague days and times as spans to offer from: "sometime next week", "Friday afternoon", "in the morning"."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Literal

PartOfDay = Literal["morning", "afternoon", "evening"]
DayRange = tuple[dt.date, dt.date]

# The clock window each part of the day means, [start, end), for choosing open slots to offer.
PART_OF_DAY_WINDOWS: dict[PartOfDay, tuple[dt.time, dt.time]] = {
    "morning": (dt.time(0, 0), dt.time(12, 0)),
    "afternoon": (dt.time(12, 0), dt.time(17, 0)),
    "evening": (dt.time(16, 30), dt.time(23, 59)),
}
WHOLE_DAY: tuple[dt.time, dt.time] = (dt.time(0, 0), dt.time(23, 59))


def _week_start(today: dt.date, weeks_ahead: int) -> dt.date:
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks_ahead)


def _next_week(today: dt.date, first: int, last: int) -> DayRange:
    monday = _week_start(today, 1)
    return monday + dt.timedelta(days=first), monday + dt.timedelta(days=last)


def _this_week(today: dt.date, first: int) -> DayRange | None:
    saturday = _week_start(today, 0) + dt.timedelta(days=5)
    start = max(today, _week_start(today, 0) + dt.timedelta(days=first))
    return (start, saturday) if start <= saturday else None


_RANGE_RULES: tuple[tuple[re.Pattern[str], Callable[[dt.date], DayRange | None]], ...] = (
    (
        re.compile(r"\b(?:early|earlier) (?:in the |on )?(?:next week|week after)\b"),
        lambda t: _next_week(t, 0, 1),
    ),
    (re.compile(r"\b(?:late|later|end of)(?: in)? next week\b"), lambda t: _next_week(t, 3, 5)),
    (re.compile(r"\bnext week\b"), lambda t: _next_week(t, 0, 5)),
    (re.compile(r"\b(?:end of|later in) (?:the|this) week\b"), lambda t: _this_week(t, 3)),
    (
        re.compile(r"\b(?:later |sometime |some time )?this week\b|\brest of (?:the|this) week\b"),
        lambda t: _this_week(t, 0),
    ),
    (
        re.compile(r"\b(?:in )?the next (?:few|couple(?: of)?|2|3) days\b|\bin the coming days\b"),
        lambda t: (t + dt.timedelta(days=1), t + dt.timedelta(days=3)),
    ),
)


def find_day_range(norm: str, today: dt.date) -> tuple[DayRange | None, tuple[int, int] | None]:
    """The span of days a caller left open ("sometime next week" -> Monday to Saturday), and where it was said."""
    for pattern, resolve in _RANGE_RULES:
        m = pattern.search(norm)
        if m:
            found = resolve(today)
            if found is not None:
                return found, (m.start(), m.end())
    return None, None


def in_window(moment: dt.datetime, window: tuple[dt.time, dt.time]) -> bool:
    return window[0] <= moment.time() < window[1]
