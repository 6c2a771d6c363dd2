"""Caller moves that carry no booking value: "repeat that?", "um, and", "I don't know my number", "what's free?"."""

from __future__ import annotations

import re
from typing import Literal

Move = Literal["repeat", "hold"]
SlotName = Literal["service", "day", "time", "name", "phone", "email"]

_MAX_WORDS = 12
_REPEAT = re.compile(
    r"\b(?:can|could|would|will) you (?:please )?(?:repeat|say|read) (?:that|it|this|the \w+|what you said)"
    r"(?: (?:again|back|one more time|please))*\b"
    r"|\b(?:please )?repeat (?:that|it|yourself|please|the \w+)\b|^repeat$|\bsay (?:that|it) again\b"
    r"|\bwhat was that\b|\bwhat did you (?:just )?say\b|\bcome again\b|\bone more time\b"
    r"|\bi didn'?t (?:catch|hear|get|understand) (?:that|it|you|what you said|the \w+)\b"
    r"|^(?:sorry|pardon|pardon me|excuse me|what|huh|eh|say again|i'?m sorry|sorry what|what sorry)$"
)
# Words that start or carry on a sentence without saying anything yet ("Actually,", "um, and").
_CONTINUATION_WORDS = frozenset(
    {"actually", "um", "umm", "uh", "uhh", "er", "erm", "hmm", "hm", "mm", "and", "so", "well", "also", "oh"}
    | {"like", "but", "or", "then", "wait", "plus", "anyway"}
)
_HOLD = re.compile(
    r"^(?:(?:um|uh|oh|okay|ok|so|yeah|wait|well),? )*(?:hold on|hang on|one (?:sec|second|moment|minute)"
    r"|just a (?:sec|second|moment|minute)|give me a (?:sec|second|moment|minute)|let me (?:see|think|check|look"
    r"|find (?:it|that))|bear with me)\b"
)
_UNKNOWN_NUMBER = re.compile(
    r"\b(?:don'?t|do not|dont|can'?t|cannot) (?:know|remember|recall|find)\b(?! (?:if|whether|what time|when))"
    r"|\b(?:don'?t|do not|dont) have (?:it|that|my number|the number|a number)\b|\bforgot\b|\bno idea\b"
    r"|\bnot sure (?:what|of) (?:my|the|it)\b|\bnew number\b"
)
_OPEN_TO_SUGGESTIONS = re.compile(
    r"\bwhat (?:do you|have you got|times?|days?|slots?|is|'s|s)\b.*\b(?:have|available|open|free|got)\b"
    r"|\bwhat(?:'s| is) (?:available|open|free)\b|\bwhen(?:'s| is| are)? (?:you )?(?:free|open|available)\b"
    r"|\bany ?time\b|\bwhenever\b|\bdoesn'?t matter\b|\bdon'?t care\b|\bi'?m (?:flexible|easy)\b"
    r"|\byou (?:pick|choose|tell me|decide)\b|\bi don'?t know\b|\bnot sure\b|\bno preference\b"
    r"|\bearliest\b|\bsoonest\b|\bfirst (?:available|opening|free)\b|\bas soon as\b|\basap\b"
)
_EARLIEST = re.compile(
    r"\bearliest\b|\bsoonest\b|\bfirst (?:available|opening|free)\b|\bas soon as\b|\basap\b"
)
_SAME_TIME = re.compile(r"\b(?:same|the same|usual) (?:time|hour)\b|\bat the same time\b")
_SAME_DAY = re.compile(r"\b(?:same|the same) (?:day|date)\b")
_SLOT_WORDS: tuple[tuple[re.Pattern[str], SlotName], ...] = (
    (re.compile(r"\b(?:e-?mail|address)\b"), "email"),
    (re.compile(r"\b(?:phone|number)\b"), "phone"),
    (re.compile(r"\bname\b"), "name"),
    (re.compile(r"\b(?:day|date)\b"), "day"),
    (re.compile(r"\b(?:time|hour)\b"), "time"),
    (re.compile(r"\b(?:service|car|vehicle|work|job)\b"), "service"),
)
# A request starts again after "and"/"also" with one of these ("..., and can I book an oil change?").
_REQUEST_START = (
    r"(?:can|could|do|does|did|what|what's|whats|where|where's|when|how|is|are|i'd|id|i want|i need|i would"
    r"|please|book|schedule|tell me|any|would|will|i'm|im|i am)\b"
)
_CLAUSE_BREAK = re.compile(
    rf"(?<=[?!.;])\s+|(?:,\s*|\s+)(?:and also|and then|oh and|and|also|plus)\s+(?={_REQUEST_START})", re.I
)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower().replace("’", "'"))


def _bare(text: str) -> str:
    return " ".join(_words(text))


def conversation_move(text: str) -> Move | None:
    """'repeat' for "can you repeat that?" / "sorry, what was that?"; 'hold' for a sentence that has only
    begun ("Actually,", "um, and") or asks for a moment ("hold on"); None for anything that says more."""
    words = _words(text)
    if not words or len(words) > _MAX_WORDS or re.search(r"\d", text):
        return None
    bare = " ".join(words)
    if _REPEAT.search(bare):
        return "repeat"
    if _HOLD.search(bare) and len(words) <= 6:
        return "hold"
    if all(word in _CONTINUATION_WORDS for word in words) and len(words) <= 4:
        return "hold"
    return None


def asks_to_wait(text: str) -> bool:
    """ "Hold on", "one second", "let me check": the caller needs a moment (not just a sentence's start)."""
    return bool(_HOLD.search(_bare(text)))


def says_number_unknown(text: str) -> bool:
    """ "I don't know my number", "I don't have it handy", "I forgot": said when asked for a phone number."""
    return bool(_UNKNOWN_NUMBER.search(_bare(text)))


def asks_for_suggestions(text: str) -> Literal["earliest", "any"] | None:
    """The caller asks the agent to propose a time ("what do you have?", "whenever", "the earliest")."""
    bare = _bare(text)
    if not _OPEN_TO_SUGGESTIONS.search(bare):
        return None
    return "earliest" if _EARLIEST.search(bare) else "any"


def keeps_same(text: str) -> tuple[bool, bool]:
    """ "Wednesday, same time" / "same day, at 4": whether the time and the day stay as they are."""
    bare = _bare(text)
    return bool(_SAME_TIME.search(bare)), bool(_SAME_DAY.search(bare))


def names_slot(text: str) -> SlotName | None:
    """Which detail the caller wants changed ("the time", "my phone number"), answering "what should I change?"."""
    bare = _bare(text)
    for pattern, slot in _SLOT_WORDS:
        if pattern.search(bare):
            return slot
    return None


def split_clauses(text: str) -> list[str]:
    """The separate requests of one utterance: "what are your hours, and can I book an oil change?" is two.

    Splits at sentence ends and at "and"/"also" that start a new request; never inside a phone number or a
    list of details ("this is Dana Kim, 555 014 3344, I need ...").
    """
    parts = [p.strip(" ,;") for p in _CLAUSE_BREAK.split(text[:600])]
    return [p for p in parts if re.search(r"[A-Za-z]{2}", p)]
