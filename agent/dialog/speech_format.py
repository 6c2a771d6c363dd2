"""Say things the way people say them on the phone: dates, times, prices, phone numbers, lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time

_ORDINAL_SUFFIX = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}


def ordinal(n: int) -> str:
    return f"{n}{_ORDINAL_SUFFIX.get(n, 'th')}"


def say_date(day: date, today: date | None = None) -> str:
    """'Tuesday, December 1st'; 'tomorrow, Thursday, November 26th' (and 'today, ...') relative to `today`."""
    absolute = f"{day:%A}, {day:%B} {ordinal(day.day)}"
    if today is not None:
        delta = (day - today).days
        if delta == 0:
            return f"today, {absolute}"
        if delta == 1:
            return f"tomorrow, {absolute}"
    return absolute


def say_on(day: date, today: date | None = None) -> str:
    """'on Tuesday, December 1st', but 'tomorrow, Thursday, November 26th' (never 'on tomorrow')."""
    said = say_date(day, today)
    return said if said.startswith(("today", "tomorrow")) else f"on {said}"


def say_time(t: time) -> str:
    """'10 in the morning', '2:30 in the afternoon', 'noon'."""
    if t.hour == 12 and t.minute == 0:
        return "noon"
    hour12 = t.hour % 12 or 12
    clock = f"{hour12}" if t.minute == 0 else f"{hour12}:{t.minute:02d}"
    if t.hour < 12:
        part = "in the morning"
    elif t.hour < 17:
        part = "in the afternoon"
    else:
        part = "in the evening"
    return f"{clock} {part}"


def say_date_time(moment: datetime, today: date | None = None) -> str:
    """'Friday, November 27th at 9 in the morning' (after "to", "until": no "on")."""
    return f"{say_date(moment.date(), today)} at {say_time(moment.time())}"


def say_when(moment: datetime, today: date | None = None) -> str:
    """'on Friday, November 27th at 9 in the morning', 'tomorrow, Thursday, November 26th at noon'."""
    return f"{say_on(moment.date(), today)} at {say_time(moment.time())}"


def say_times(times: Sequence[time], conjunction: str = "or") -> str:
    """Several times of one day: '9, 10:30 or 11 in the morning'; 'noon, 2:30 or 4 in the afternoon'."""
    spoken = [say_time(t) for t in times]
    parts = {s.split(" ", 1)[1] for s in spoken if " " in s}
    if len(parts) == 1 and len(spoken) > 1:
        part = parts.pop()
        bare = [s.removesuffix(f" {part}") for s in spoken]
        return f"{say_list(bare, conjunction)} {part}"
    return say_list(spoken, conjunction)


def say_price(amount: float) -> str:
    """'17,900 dollars', '49 dollars', '89 dollars and 95 cents'."""
    dollars = int(amount)
    cents = round((amount - dollars) * 100)
    if cents:
        return f"{dollars:,} dollars and {cents} cents"
    return f"{dollars:,} dollars"


def say_price_range(low: float, high: float) -> str:
    if round(low) == round(high):
        return f"about {say_price(low)}"
    return f"between {int(low):,} and {say_price(high)}"


def say_phone(digits: str) -> str:
    """'555 014 2233' grouped so a TTS voice pauses where people do."""
    digits = "".join(c for c in digits if c.isdigit())
    if len(digits) == 10:
        return f"{digits[:3]}, {digits[3:6]}, {digits[6:]}"
    if len(digits) == 11 and digits.startswith("1"):
        return say_phone(digits[1:])
    return " ".join(digits)


def say_code(code: str) -> str:
    """A confirmation code letter by letter: 'K 7 P 2 Q 9'."""
    return " ".join(code.upper())


def say_list(items: Sequence[str], conjunction: str = "and") -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return f"{', '.join(items[:-1])}, {conjunction} {items[-1]}"


def say_email(email: str) -> str:
    return email.replace("@", " at ").replace(".", " dot ")


_MARKDOWN = re.compile(r"(\*\*|__|`|^#+\s*|^\s*[-*\u2022]\s+|^\s*\d+\.\s+)", re.M)
_DOLLARS = re.compile(r"\$\s?(\d[\d,]*(?:\.\d\d)?)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
SPOKEN_SENTENCES = 2


def speakable(text: str) -> str:
    """Free text (a language model's answer) as the templates speak: no markdown or lists, prices as
    words ("29,495 dollars"), at most two sentences."""
    plain = " ".join(_MARKDOWN.sub(" ", text).split())
    plain = _DOLLARS.sub(lambda m: say_price(float(m.group(1).replace(",", ""))), plain)
    sentences = [s for s in _SENTENCE_END.split(plain) if s]
    spoken = " ".join(sentences[:SPOKEN_SENTENCES]).strip()
    if spoken and spoken[-1] not in ".!?":
        spoken += "."
    return spoken
