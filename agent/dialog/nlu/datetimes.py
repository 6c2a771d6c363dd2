"""Dates and times as callers say them ("next Tuesday at ten thirty", "tomorrow afternoon") for booking."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from agent.dialog.nlu.day_ranges import DayRange, PartOfDay, find_day_range
from agent.dialog.nlu.spoken_numbers import digitize

_MAX_CHARS = 400
_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "tues": 1,
    "wednesday": 2,
    "weds": 2,
    "thursday": 3,
    "thurs": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_WD = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)"


@dataclass(frozen=True, slots=True)
class WhenParse:
    """What a caller said about when: a day, an exact time and/or a part of the day (each may be missing).

    `part_of_day` is set only when the caller named one ("tomorrow afternoon", "first thing"); an exact
    time does not fill it in. `day_range` is a span of days left open ("sometime next week"), never a day
    picked from it. `matched_text` holds the normalised words that carried the date/time.
    """

    day: dt.date | None = None
    time: dt.time | None = None
    part_of_day: PartOfDay | None = None
    day_range: DayRange | None = None
    matched_text: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.day is None and self.time is None and self.part_of_day is None and self.day_range is None


# ---------------------------------------------------------------- normalisation and masking

_SPEECH_FIXES: tuple[tuple[str, str], ...] = (
    (r"\b([ap])\s?\.\s?m\b\.?|\b([ap]) m\b", r"\1\2m"),
    (r"(\d)\s*([ap]m)\b", r"\1 \2"),
    (r"\bo'?\s?clock\b", "oclock"),
    (r"\b(tmrw|tmr|tomorow|tommorow|tommorrow)\b", "tomorrow"),
    (r"\btonite\b", "tonight"),
    (r"\bmid ?day\b|\btwelve noon\b|\b12 noon\b", "noon"),
    (r"\bfirst thing\b", "firstthing"),
)
_MASKS = (
    re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?(?:\s*(?:k|grand|thousand))?"),
    re.compile(r"\b\d[\d,]*(?:\.\d+)?\s*(?:k|grand|thousand|dollars?|bucks|miles?|mi|percent|%|mph|mpg)\b"),
    re.compile(r"\b(?:19|20)\d{2}\b"),  # model years
    # rav4, f150, 4x4 (but not 21st, 10am)
    re.compile(r"\b(?![ap]m\b)[a-z]+\d+[a-z\d]*\b|\b\d+(?!(?:st|nd|rd|th|am|pm)\b)[a-z]+\w*\b"),
    re.compile(r"\b\d{3,}\b"),  # stock numbers, mileage, prices without units
)


_PHONE_RUN = re.compile(r"\(?\b\d+\)?(?:[\s\-.]+\(?\d+\)?)+")


def _digit_count(run: str) -> int:
    return sum(ch.isdigit() for ch in run)


def _mask_phone(m: re.Match[str]) -> str:
    return "#" * len(m.group(0)) if _digit_count(m.group(0)) >= 7 else m.group(0)


def _normalise(text: str) -> str:
    norm = text.lower().replace("’", "'")[:_MAX_CHARS]
    norm = re.sub(r"[^a-z0-9:/$%,.' ]+", " ", norm)
    norm = re.sub(r"(?<=[a-z])[,.]|[,.](?=\s|$)", " ", norm)
    for pattern, repl in _SPEECH_FIXES:
        norm = re.sub(pattern, repl, norm)
    norm = digitize(norm, ordinals=True)
    norm = re.sub(r"\b(\d{1,2}) oh (\d)\b", r"\1:0\2", norm)
    norm = re.sub(r"\bat (\d{1,2})(\d{2})\b", r"at \1:\2", norm)  # "at 230" -> 2:30 (ASR)
    norm = _PHONE_RUN.sub(_mask_phone, norm)
    for mask in _MASKS:
        norm = mask.sub(lambda m: "#" * len(m.group(0)), norm)
    return re.sub(r"\s+", " ", norm).strip()


# ---------------------------------------------------------------- days


def _roll_month_day(today: dt.date, month: int, day: int, year: int | None = None) -> dt.date | None:
    for y in ([year] if year and year >= today.year else []) + [today.year, today.year + 1]:
        try:
            candidate = dt.date(y, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _next_weekday(today: dt.date, weekday: int, *, allow_today: bool) -> dt.date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not allow_today:
        ahead = 7
    return today + dt.timedelta(days=ahead)


def _day_of_month(today: dt.date, day: int) -> dt.date | None:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = dt.date(year, month, day)
            if candidate >= today:
                return candidate
        except ValueError:
            pass
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _week_start(today: dt.date, weeks_ahead: int) -> dt.date:
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks_ahead)


_DayRule = tuple[re.Pattern[str], Callable[[re.Match[str], dt.date], dt.date | None]]


def _weekday_rule(m: re.Match[str], today: dt.date) -> dt.date | None:
    mod, name, week = m.group("mod") or "", m.group("wd"), m.group("week") or ""
    weekday = _WEEKDAYS[name]
    if "next week" in mod or "next week" in week:
        return _week_start(today, 1) + dt.timedelta(days=weekday)
    if "this week" in week:
        return _next_weekday(today, weekday, allow_today=True)
    base = _next_weekday(today, weekday, allow_today=mod.strip() == "this")
    if "after next" in week or "following" in mod or "week from" in mod:
        base += dt.timedelta(days=7)
    return base


_WEEKDAY_WORD = re.compile(rf"\b(?P<wd>{_WD})s?\b")


def _weekday_said(norm: str, day: dt.date, today: dt.date) -> dt.date:
    """A date said with a weekday it does not fall on ("Tuesday, December 4th": a Friday) is the day of that
    weekday nearest to it, within three days: a misheard "1st" is likelier than a misheard "Tuesday", and the
    read-back says both weekday and date, so the caller hears which day it is. Farther apart: the date."""
    named = {_WEEKDAYS[m.group("wd")] for m in _WEEKDAY_WORD.finditer(norm)}
    if len(named) != 1 or day.weekday() in named:
        return day
    shift = (named.pop() - day.weekday() + 3) % 7 - 3  # -3 .. +3 days
    nearest = day + dt.timedelta(days=shift)
    return nearest if nearest >= today else day


def _count(word: str) -> int:
    return 1 if word in ("a", "an", "one") else int(word)


_DAY_RULES: tuple[_DayRule, ...] = (
    (
        re.compile(rf"\b(?P<mon>{_MON})\.? (?:the )?(?P<d>\d{{1,2}}){_ORD}?\b(?:,? (?P<y>20\d\d))?"),
        lambda m, t: _roll_month_day(t, _MONTHS[m.group("mon")], int(m.group("d")), _year(m.group("y"))),
    ),
    (
        re.compile(rf"\b(?:the )?(?P<d>\d{{1,2}}){_ORD}? (?:of )?(?P<mon>{_MON})\b"),
        lambda m, t: _roll_month_day(t, _MONTHS[m.group("mon")], int(m.group("d"))),
    ),
    (
        re.compile(r"\b(?P<mo>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{2,4}))?\b"),
        lambda m, t: _roll_month_day(t, int(m.group("mo")), int(m.group("d")), _year(m.group("y"))),
    ),
    (
        re.compile(rf"\b(?:on )?the (\d{{1,2}}){_ORD}\b|\bon (\d{{1,2}}){_ORD}\b|^(\d{{1,2}}){_ORD}$"),
        lambda m, t: _day_of_month(t, int(m.group(1) or m.group(2) or m.group(3))),
    ),
    (re.compile(r"\b(?:the )?day after tomorrow\b"), lambda m, t: t + dt.timedelta(days=2)),
    (re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b"), lambda m, t: t),
    (re.compile(r"\btomorrow\b"), lambda m, t: t + dt.timedelta(days=1)),
    (re.compile(r"\bin (a|an|\d{1,2}) days?\b"), lambda m, t: t + dt.timedelta(days=_count(m.group(1)))),
    (
        re.compile(r"\b(?:in (a|an|\d) weeks?|(a|one) week from (?:today|now))\b"),
        lambda m, t: t + dt.timedelta(weeks=_count(m.group(1) or m.group(2))),
    ),
    (
        re.compile(
            rf"\b(?P<mod>(?:(?:on )?the following|a week from|next|this coming|coming|this|on) )?"
            rf"(?P<wd>{_WD})s?\b(?P<week> after next| next week| of next week| this week)?"
        ),
        _weekday_rule,
    ),
    (re.compile(r"\bnext weekend\b"), lambda m, t: _week_start(t, 1) + dt.timedelta(days=5)),
    (re.compile(r"\b(?:this |the )?weekend\b"), lambda m, t: _next_weekday(t, 5, allow_today=True)),
)


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    return int(raw) + (2000 if len(raw) == 2 else 0)


_Span = tuple[int, int]


def _span(m: re.Match[str]) -> _Span:
    return m.start(), m.end()


def _find_day(norm: str, today: dt.date) -> tuple[dt.date | None, _Span | None]:
    for pattern, resolve in _DAY_RULES:
        for m in pattern.finditer(norm):
            found = resolve(m, today)
            if found is not None:
                return found, _span(m)
    return None, None


def _dateparser_day(text: str, now: dt.datetime) -> tuple[dt.date | None, _Span | None]:
    """Last resort for wordings our rules miss; only accepted when the match names a month."""
    from dateparser.search import search_dates

    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found = search_dates(text, languages=["en"], settings=settings)
    for matched, when in found or []:
        if re.search(rf"\b(?:{_MON})\b", matched.lower()) and re.search(r"\d", matched):
            start = text.find(matched)
            return _roll_month_day(now.date(), when.month, when.day), (start, start + len(matched))
    return None, None


# ---------------------------------------------------------------- times and parts of the day

_PARTS: tuple[tuple[re.Pattern[str], PartOfDay], ...] = (
    (re.compile(r"\bfirstthing\b|(?<!good )\bmorning\b|\bbefore (?:noon|lunch)\b"), "morning"),
    (re.compile(r"(?<!good )\bafternoon\b|\bafter lunch\b"), "afternoon"),
    (re.compile(r"(?<!good )\bevening\b|\btonight\b|\bafter work\b|\bend of the day\b"), "evening"),
)
_CUE = rf"(?:at|around|about|by|after|before|say|till|until|til|from|between|{_WD}|today|tomorrow|tonight)"
_NOT_DATE = r"(?!\s?(?:st|nd|rd|th)\b|\s*[/%]|\d)"  # "at 10 this is Ann" is 10 o'clock, "the 10 th" is not
_TIME_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?P<h>\d{1,2})(?:[: ](?P<m>\d{2}))? ?(?P<ap>am|pm)\b"), "ampm"),
    (re.compile(r"\b(?P<q>half|quarter) past (?P<h>\d{1,2})\b"), "past"),
    (re.compile(r"\bquarter (?:to|till|til|of) (?P<h>\d{1,2})\b"), "to"),
    (re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})\b"), "hm"),
    (re.compile(r"\b(?P<h>\d{1,2}) oclock\b"), "hm"),
    (re.compile(r"\b(?P<h>\d{1,2}) (?P<m>[0-5]\d)\b" + _NOT_DATE), "hm"),
    (re.compile(r"\b(?P<noon>noon|lunch ?time|midnight)\b"), "noon"),
    (re.compile(rf"\b{_CUE} (?:like |about |around )?(?P<h>\d{{1,2}})\b" + _NOT_DATE), "hm"),
    (re.compile(r"\b(?P<h>\d{1,2}) (?:in the )?(?:morning|afternoon|evening|tonight)\b"), "hm"),
    (re.compile(r"^(?:um |uh |how about |let's say |maybe |like |say )*(?P<h>\d{1,2})(?: please)?$"), "hm"),
)


def _resolve_hour(hour: int, ampm: str | None, part: PartOfDay | None) -> int | None:
    if ampm == "pm":
        hour = hour + 12 if hour < 12 else hour
    elif ampm == "am":
        hour = 0 if hour == 12 else hour
    elif hour >= 13:
        pass
    elif part in ("afternoon", "evening"):
        hour = hour + 12 if hour < 12 else hour
    elif part == "morning":
        pass
    elif 1 <= hour <= 6:  # business hours: "at 3" is 3 pm, "at 9" is 9 am
        hour += 12
    return hour if 0 <= hour <= 23 else None


def _find_time(norm: str, part: PartOfDay | None) -> tuple[dt.time | None, _Span | None]:
    for pattern, kind in _TIME_RULES:
        for m in pattern.finditer(norm):
            groups = m.groupdict()
            if kind == "noon":
                return (dt.time(0, 0) if groups["noon"] == "midnight" else dt.time(12, 0)), _span(m)
            hour, minute = int(groups["h"]), int(groups.get("m") or 0)
            if kind == "past":
                minute = 30 if groups["q"] == "half" else 15
            elif kind == "to":
                hour, minute = (hour - 1) or 12, 45
            if not 0 <= hour <= 23 or minute > 59 or (kind != "ampm" and hour == 0 and minute == 0):
                continue
            if kind == "hm" and " " in m.group(0) and groups.get("m") and hour > 12:
                continue  # "twenty twenty" is not a time
            resolved = _resolve_hour(hour, groups.get("ap"), part)
            if resolved is not None:
                return dt.time(resolved, minute), _span(m)
    return None, None


def _find_part(norm: str) -> tuple[PartOfDay | None, _Span | None]:
    best: tuple[_Span, PartOfDay] | None = None
    for pattern, part in _PARTS:
        m = pattern.search(norm)
        if m and (best is None or m.start() < best[0][0]):
            best = (_span(m), part)
    if best is None:
        return None, None
    return best[1], best[0]


def _matched_text(norm: str, spans: list[_Span]) -> str | None:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    text = " ".join(norm[a:b].strip() for a, b in merged).replace("firstthing", "first thing")
    return text or None


def _relative_hours(norm: str, now: dt.datetime) -> tuple[dt.datetime | None, _Span | None]:
    m = re.search(r"\bin (an|a|half an|\d) hours?\b|\bin (\d{1,2}) minutes\b", norm)
    if not m:
        return None, None
    if m.group(2):
        return now + dt.timedelta(minutes=int(m.group(2))), _span(m)
    hours = 0.5 if m.group(1) == "half an" else float(_count(m.group(1)))
    return now + dt.timedelta(hours=hours), _span(m)


def parse_when(text: str, now: dt.datetime) -> WhenParse:
    """Find the day, time and part of day in an utterance, relative to `now` (local wall-clock time).

    Days never fall before `now`'s date: "December 3rd" said in December rolls to next year, "the 14th"
    to next month. Numbers that are prices, phone digits, mileages, model names or years are ignored.
    """
    norm = _normalise(text)
    if not norm.strip("# "):
        return WhenParse()
    today = now.date()
    part, part_span = _find_part(norm)
    day, day_span = _find_day(norm, today)
    clock, time_span = _find_time(norm, part)
    if clock is None and day is None:
        relative, relative_span = _relative_hours(norm, now)
        if relative is not None:
            day, clock = relative.date(), relative.time().replace(second=0, microsecond=0)
            time_span = relative_span
    if day is None and re.search(rf"\b(?:{_MON})\b.*\d|\d.*\b(?:{_MON})\b", norm):
        day, day_span = _dateparser_day(norm.replace("#", " "), now)
    if day is not None:
        day = _weekday_said(norm, day, today)
    if day is not None and day < today:
        day, day_span = None, None
    day_range, range_span = find_day_range(norm, today) if day is None else (None, None)
    spans = [s for s in (day_span, time_span, part_span, range_span) if s is not None]
    return WhenParse(
        day=day, time=clock, part_of_day=part, day_range=day_range, matched_text=_matched_text(norm, spans)
    )


def warm_up() -> None:
    """Load dateparser's language data now (about 0.3 s) instead of during the first call that needs it."""
    _dateparser_day("on the third of march", dt.datetime(2026, 1, 1))
