"""Spoken numbers to digits ("twenty five thousand" -> 25000, "ten thirty" -> 10 30) for all parsers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

UNITS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS: dict[str, int] = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES: dict[str, int] = {"thousand": 1_000, "million": 1_000_000}
ORDINALS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}

_Kind = Literal["unit", "teen", "tens", "hundred", "scale", "ordinal"]
_CARDINAL_WORDS = sorted([*UNITS, *TEENS, *TENS, *SCALES, "hundred"], key=len, reverse=True)
_ALL_WORDS = sorted([*_CARDINAL_WORDS, *ORDINALS], key=len, reverse=True)


def _run_pattern(words: Sequence[str]) -> re.Pattern[str]:
    alt = "|".join(words)
    word = rf"(?:{alt})"
    return re.compile(
        rf"\b(?:an?\s+(?=hundred\b|thousand\b))?{word}(?:(?:\s+|-)(?:and\s+)?{word})*\b", re.IGNORECASE
    )


_CARDINAL_RUN = _run_pattern(_CARDINAL_WORDS)
_ANY_RUN = _run_pattern(_ALL_WORDS)
_DIGITS_SCALE = re.compile(r"\b(\d+(?:\.\d+)?)\s+(thousand|million)\b", re.IGNORECASE)


def ordinal_suffix(n: int) -> str:
    """The English suffix of an ordinal number: 1 -> "st", 12 -> "th", 23 -> "rd"."""
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


class _Segmenter:
    """Splits a run of number words into the numbers a speaker meant ("ten thirty" is two numbers)."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self._reset()

    def _reset(self) -> None:
        self.total = 0
        self.group = 0
        self.last: _Kind | None = None

    def _emit(self, ordinal: bool = False) -> None:
        if self.last is not None:
            value = self.total + self.group
            self.out.append(f"{value}{ordinal_suffix(value)}" if ordinal else str(value))
        self._reset()

    def feed(self, word: str) -> None:
        if word == "and":
            if self.last not in ("hundred", "scale"):
                self._emit()
                self.out.append("and")
            return
        if word in ("a", "an"):  # only ever matched right before "hundred"/"thousand"
            self._emit()
            self.group, self.last = 1, "unit"
            return
        if word in ORDINALS:
            self._feed_ordinal(ORDINALS[word])
        elif word in UNITS:
            self._feed_small(UNITS[word], "unit")
        elif word in TEENS:
            self._feed_small(TEENS[word], "teen")
        elif word in TENS:
            self._feed_small(TENS[word], "tens")
        elif word == "hundred":
            if self.last in ("unit", "teen", "tens") and 0 < self.group < 100:
                self.group *= 100
            else:
                self._emit()
                self.group = 100
            self.last = "hundred"
        elif word in SCALES:
            scale = SCALES[word]
            grows = self.total == 0 or self.total >= scale * 1000  # "two million five hundred thousand"
            if self.last in ("unit", "teen", "tens", "hundred") and grows:
                self.total += self.group * scale
                self.group = 0
            else:
                self._emit()
                self.total = scale
            self.last = "scale"

    def _continues(self, kind: _Kind, value: int) -> bool:
        if self.last is None or self.last in ("hundred", "scale"):
            return True
        return kind == "unit" and self.last == "tens" and self.group % 10 == 0 and value < 10

    def _feed_small(self, value: int, kind: _Kind) -> None:
        if not self._continues(kind, value):
            self._emit()
        self.group += value
        self.last = kind

    def _feed_ordinal(self, value: int) -> None:
        kind: _Kind = "unit" if value < 10 else "teen"
        if not self._continues(kind, value):
            self._emit()
        self.group += value
        self.last = "ordinal"
        self._emit(ordinal=True)

    def finish(self) -> list[str]:
        self._emit()
        return self.out


def split_numbers(words: Sequence[str]) -> list[str]:
    """Segment number words into numbers as strings ("ten", "thirty" -> ["10", "30"]; ordinals -> "21st")."""
    seg = _Segmenter()
    for word in words:
        seg.feed(word.lower())
    return seg.finish()


def words_to_int(text: str) -> int | None:
    """The integer that `text` says as a whole ("twenty five thousand", "25 thousand", "1,200"), else None."""
    cleaned = text.strip().lower().replace(",", "")
    if not cleaned:
        return None
    if re.fullmatch(r"\d+", cleaned):
        return int(cleaned)
    cleaned = _DIGITS_SCALE.sub(lambda m: str(int(float(m.group(1)) * SCALES[m.group(2).lower()])), cleaned)
    if re.fullmatch(r"\d+", cleaned):
        return int(cleaned)
    words = re.split(r"[\s-]+", cleaned)
    allowed = {*UNITS, *TEENS, *TENS, *SCALES, "hundred", "and", "a"}
    if not all(w in allowed for w in words):
        return None
    parts = split_numbers(words)
    if len(parts) != 1 or not parts[0].isdigit():
        return None
    return int(parts[0])


def digitize(text: str, *, ordinals: bool = False) -> str:
    """Replace spoken numbers in `text` with digits, keeping everything else as it was.

    Adjacent numbers that cannot form one number stay apart ("ten thirty" -> "10 30", "five five" -> "5 5"),
    a digit group followed by a scale is multiplied ("25 thousand" -> "25000"), and with `ordinals` the
    ordinal words become "1st", "23rd", ...
    """
    pattern = _ANY_RUN if ordinals else _CARDINAL_RUN

    def _replace(match: re.Match[str]) -> str:
        words = re.split(r"[\s-]+", match.group(0))
        return " ".join(split_numbers(words))

    scaled = _DIGITS_SCALE.sub(lambda m: str(int(float(m.group(1)) * SCALES[m.group(2).lower()])), text)
    return pattern.sub(_replace, scaled)
