"""Which service a caller means ("rotate my tires" -> tire rotation), and service visit versus test drive."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from rapidfuzz import fuzz

from agent.store.models import ServiceType

AppointmentKindGuess = Literal["service", "test_drive"]

SERVICE_MIN_SCORE = 0.72

_STOP = {
    "a",
    "an",
    "the",
    "my",
    "our",
    "your",
    "i",
    "im",
    "i'm",
    "me",
    "we",
    "is",
    "are",
    "was",
    "it",
    "its",
    "it's",
    "to",
    "for",
    "of",
    "on",
    "in",
    "at",
    "and",
    "or",
    "need",
    "needs",
    "want",
    "would",
    "like",
    "get",
    "got",
    "have",
    "has",
    "do",
    "does",
    "can",
    "could",
    "please",
    "some",
    "be",
    "been",
    "looked",
    "look",
    "check",
    "checked",
    "car",
    "truck",
    "vehicle",
    "done",
    "just",
    "think",
    "so",
    "um",
    "uh",
    "that",
    "this",
    "with",
    "there",
    "keeps",
    "keep",
    "again",
    "really",
    "bit",
    "little",
    "book",
    "schedule",
    "appointment",
    "come",
    "bring",
    "service",
    "services",
}
# Symptoms the caller describes, mapped to words that service names and aliases use.
_SYMPTOMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b(blowing|blows) (warm|hot)|\bnot (cooling|cold)|\bair ?con|\ba ?/? ?c\b|\bac\b"),
        "ac air conditioning",
    ),
    (
        re.compile(r"\bcheck engine|\bengine light|\bwarning light|\bdash(board)? light|\bcode"),
        "check engine light diagnostic",
    ),
    (re.compile(r"\b(squeak|squeal|grind)\w*|\bbrak\w*"), "brake"),
    (
        re.compile(r"\bwon'?t (start|turn over)|\bdead battery|\bjump start|\bbattery (died|is dead)"),
        "dead battery",
    ),
    (re.compile(r"\bbatter(y|ies)\b"), "battery"),
    (re.compile(r"\bpull(s|ing)? to (the )?(left|right)|\bshak\w* steering|\balign\w*"), "alignment"),
    (re.compile(r"\brotat\w* (my |the )?tires?|\btires? rotat\w*"), "tire rotation"),
    (re.compile(r"\boil\b|\blube\b"), "oil"),
    (re.compile(r"\btransmission|\bslipping gears|\bshift\w* hard"), "transmission"),
    (re.compile(r"\binspect\w*|\bemissions?\b|\bsticker\b"), "inspection"),
)
# Four or more numbers in a row are a phone number or a code, never words of a service.
_NUMBER_RUN = re.compile(r"\b(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d+)\b[\s,.-]*){4,}")
_SUFFIXES = (
    ("ations", "at"),
    ("ation", "at"),
    ("ions", ""),
    ("ion", ""),
    ("ments", ""),
    ("ment", ""),
    ("ings", ""),
    ("ing", ""),
    ("ers", ""),
    ("er", ""),
    ("es", ""),
    ("ed", ""),
    ("s", ""),
    ("e", ""),
)


def _stem(word: str) -> str:
    """A crude suffix stripper, enough to make "rotate", "rotating" and "rotation" meet."""
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) + len(replacement) >= 3:
            return word[: -len(suffix)] + replacement
    return word


def _words(text: str) -> list[str]:
    lowered = text.lower().replace("a/c", "ac").replace("&", " and ")
    lowered = re.sub(r"\btyre", "tire", lowered)
    # "check up" is one word: with "check" a stop word, "up" alone matched "Up 3 in the afternoon" (Whisper's "at 3")
    lowered = re.sub(r"\bcheck[\s-]+up\b", "checkup", lowered)
    # A lone letter ("Jon with no h", a spelled name) names no service.
    return [w for w in re.findall(r"[a-z0-9']+", lowered) if w not in _STOP and (len(w) > 1 or w.isdigit())]


def _token_hit(term: str, words: Sequence[str]) -> float:
    """How well one stemmed term of a service name occurs among the caller's stemmed words (0..1)."""
    best = 0.0
    for word in words:
        if word == term:
            return 1.0
        if len(term) >= 4 and len(word) >= 4:
            best = max(best, fuzz.ratio(term, word) / 100.0)
    return best if best >= 0.8 else 0.0


def _phrase_score(phrase: str, words: Sequence[str], joined: str) -> float:
    terms = [_stem(w) for w in _words(phrase)]
    if not terms:
        return 0.0
    coverage = sum(_token_hit(t, words) for t in terms) / len(terms)
    fuzzy = 0.0
    stemmed = " ".join(terms)
    # Only long phrases may match inside other words: "ac" must not be found in "actually"; and only
    # inside the caller's words, never the other way round ("no" is inside "ac not cold").
    if len(stemmed) >= 6 and len(joined) >= len(stemmed) - 2:
        fuzzy = fuzz.partial_ratio(stemmed, joined) / 100.0
        fuzzy = fuzzy if fuzzy >= 0.9 else 0.0
    return max(coverage, fuzzy)


def match_service(text: str, services: Sequence[ServiceType]) -> tuple[ServiceType, float] | None:
    """The service the caller asks for, with a score in 0..1, or None when nothing clears the threshold.

    Names and aliases are compared on stemmed words, and common symptoms ("my AC is blowing warm",
    "check engine light is on") are mapped to service words first. When several phrases match fully,
    the one with more words wins ("brake pads" beats "brakes").
    """
    lowered = _NUMBER_RUN.sub(" ", text.lower()[:500])  # "... three three four four": no "four tires"
    extra = " ".join(words for pattern, words in _SYMPTOMS if pattern.search(lowered))
    words = [_stem(w) for w in _words(f"{lowered} {extra}")]
    if not words:
        return None
    joined = " ".join(words)
    best: tuple[float, int, ServiceType] | None = None
    for service in services:
        for phrase in (service.name, *service.aliases):
            score = _phrase_score(phrase, words, joined)
            if score <= 0:
                continue
            specificity = len(_words(phrase))
            key = (round(score, 3), specificity)
            if best is None or key > (round(best[0], 3), best[1]):
                best = (score, specificity, service)
    if best is None or best[0] < SERVICE_MIN_SCORE:
        return None
    return best[2], min(1.0, best[0])


_TEST_DRIVE = re.compile(
    r"\btest[\s,.-]{0,3}driv\w*|\btake (it|her|him|one|the \w+( \w+)?) (out )?for a (spin|drive|test)"
    r"|\b(drive|try|see|check out|look at) (it|the|that|this|one)\b.*\b(before (i|we) buy|in person)"
    r"|\bsee the (car|truck|suv|vehicle)\b|\btry (it|one|the \w+) out\b|\bdrive (it|one|the \w+) around\b"
)
_SERVICE = re.compile(
    r"\b(service|servicing|serviced|oil|brake|brakes|tire|tires|rotation|alignment|inspection|repair|fix"
    r"|maintenance|tune[\s-]?up|diagnostic|check engine|engine light|battery|transmission|recall|leak\w*"
    r"|noise|a/?c|air conditioning|mechanic|shop|warning light|detail\w*|wipers?|filter|tyres?|squeak\w*"
    r"|grind\w*|won'?t start|pull(s|ing) to|broke|broken|overheat\w*|rattl\w*|vibrat\w*)\b"
)


def detect_appointment_kind(text: str) -> AppointmentKindGuess | None:
    """Whether the caller wants a service visit or a test drive; None if the text gives no sign."""
    lowered = text.lower()[:500]
    if _TEST_DRIVE.search(lowered):
        return "test_drive"
    if _SERVICE.search(lowered):
        return "service"
    return None
