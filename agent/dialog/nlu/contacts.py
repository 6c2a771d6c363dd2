"""Phone numbers, e-mail addresses and names as callers say them ("five five five oh one four ...")."""

from __future__ import annotations

import re

from agent.dialog.nlu.spoken_numbers import TEENS, TENS, UNITS, digitize

_MAX_CHARS = 500

# ---------------------------------------------------------------- phone numbers

_DIGIT_WORDS: dict[str, str] = {**{w: str(v) for w, v in UNITS.items()}, "oh": "0", "o": "0", "owe": "0"}
_PHONE_SEPARATORS = {"-", "(", ")", ".", ",", "/", "dash", "hyphen", "plus", "+"}
_PHONE_FILLERS = {"area", "code", "uh", "um", "then", "and", "is"}
_PHONE_WORDS = {*_DIGIT_WORDS, *TEENS, *TENS, "hundred", "thousand", "double", "triple"}
_PHONE_TOKEN = re.compile(r"\d+|[a-z]+|[-().,/+]")


def _phone_run_digits(tokens: list[str]) -> str:
    digits: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok.isdigit():
            digits.append(tok)
        elif tok in ("double", "triple") and nxt in _DIGIT_WORDS:
            digits.append(_DIGIT_WORDS[nxt] * (2 if tok == "double" else 3))
            i += 1
        elif tok in _DIGIT_WORDS and nxt == "hundred":
            after = tokens[i + 2] if i + 2 < len(tokens) else ""
            if after in TEENS or after in TENS:  # "five hundred fifty five" -> 555
                digits.append(_DIGIT_WORDS[tok])
            else:  # "eight hundred five five five ..." -> 800 555 ...
                digits.append(_DIGIT_WORDS[tok] + "00")
            i += 1
        elif tok in _DIGIT_WORDS and nxt == "thousand":
            digits.append(_DIGIT_WORDS[tok] + "000")
            i += 1
        elif tok in _DIGIT_WORDS:
            digits.append(_DIGIT_WORDS[tok])
        elif tok in TEENS:
            digits.append(str(TEENS[tok]))
        elif tok in TENS:
            if nxt in UNITS and nxt != "zero":
                digits.append(str(TENS[tok] + UNITS[nxt]))
                i += 1
            else:
                digits.append(str(TENS[tok]))
        i += 1
    return "".join(digits)


def parse_phone(text: str) -> str | None:
    """The 10-digit US number in `text` ("five five five, oh one four, two two three three"), else None.

    Digits may be spoken, written or mixed; "double five" and "triple oh" repeat; a leading "plus one"
    or "1" country code is dropped. Other numbers in the sentence (years, prices) are separate runs.
    """
    tokens = _PHONE_TOKEN.findall(text.lower()[:_MAX_CHARS])
    runs: list[list[str]] = [[]]
    for tok in tokens:
        if tok.isdigit() or tok in _PHONE_WORDS:
            runs[-1].append(tok)
        elif tok in _PHONE_SEPARATORS or (tok in _PHONE_FILLERS and runs[-1]):
            continue
        elif runs[-1]:
            runs.append([])
    for run in sorted(runs, key=len, reverse=True):
        digits = _phone_run_digits(run)
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        if len(digits) == 10 and digits[0] not in "01":
            return digits
    return None


# ---------------------------------------------------------------- e-mail addresses

_EMAIL_RE = re.compile(
    r"^[a-z0-9](?:[a-z0-9._%+-]*[a-z0-9])?@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.[a-z]{2,}$"
)
_WRITTEN_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_SPOKEN_SYMBOLS = (
    (re.compile(r"\bat sign\b|\bat symbol\b"), " @ "),
    (re.compile(r"\b(dot|period|point)\b"), " . "),
    (re.compile(r"\bunder ?score\b"), " _ "),
    (re.compile(r"\b(dash|hyphen)\b"), " - "),
)
_LOCAL_STOP = {
    "is",
    "my",
    "email",
    "mail",
    "address",
    "its",
    "it's",
    "it",
    "the",
    "sure",
    "yes",
    "yeah",
    "ok",
    "okay",
    "that's",
    "thats",
    "um",
    "uh",
    "so",
    "and",
    "you",
    "can",
    "reach",
    "me",
    "use",
    "send",
    "to",
    "name",
    "e-mail",
    "of",
    "course",
    "please",
    "here",
    "that",
    "be",
    "would",
    "should",
    "try",
    "at",
    "@",
    "i",
    "think",
}
_CONNECTORS = {".", "_", "-"}


def _domain_from(tokens: list[str], start: int) -> str | None:
    # A label may be spelled in pieces ("g mail dot com"); the last label (the TLD) is one token.
    labels: list[str] = []
    i = start
    while True:
        j = i
        while j < len(tokens) and j - i < 3 and tokens[j].isalnum():
            j += 1
        if j == i:
            break
        if j < len(tokens) and tokens[j] == ".":
            labels.append("".join(tokens[i:j]))
            i = j + 1
        else:
            labels.append(tokens[i])
            break
    if len(labels) < 2 or not labels[-1].isalpha():
        return None
    return ".".join(labels)


def parse_email(text: str) -> str | None:
    """The e-mail address in `text`, written or spoken ("john dot smith at gmail dot com"), lowercased."""
    lowered = text.lower()[:_MAX_CHARS]
    written = _WRITTEN_EMAIL.search(lowered.replace(" ", "")) if "@" in lowered else None
    if written and _EMAIL_RE.match(written.group(0)):
        return written.group(0)
    spoken = digitize(lowered)
    for pattern, symbol in _SPOKEN_SYMBOLS:
        spoken = pattern.sub(symbol, spoken)
    tokens = re.findall(r"[a-z0-9]+(?:'[a-z]+)?|[@._-]", spoken)
    at_positions = [i for i, t in enumerate(tokens) if t in ("at", "@")]
    for at in reversed(at_positions):
        domain = _domain_from(tokens, at + 1)
        if domain is None:
            continue
        local: list[str] = []
        j = at - 1
        while j >= 0 and len(local) < 8:
            tok = tokens[j]
            if tok in _CONNECTORS or (tok not in _LOCAL_STOP and "'" not in tok):
                local.insert(0, tok)
                j -= 1
            else:
                break
        while local and local[0] in _CONNECTORS:
            local.pop(0)
        candidate = f"{''.join(local)}@{domain}"
        if _EMAIL_RE.match(candidate):
            return candidate
    return None


# ---------------------------------------------------------------- names

_STRONG_CUES = (
    ("my", "name", "is"),
    ("my", "name's"),
    ("name's"),
    ("the", "name", "is"),
    ("name", "is"),
    ("call", "me"),
    ("names"),
)
_WEAK_CUES = (("this", "is"), ("it's"), ("it", "is"), ("i'm"), ("i", "am"), ("its"))
_TERMINATORS = {
    "and",
    "from",
    "calling",
    "here",
    "speaking",
    "i",
    "i'm",
    "my",
    "with",
    "by",
    "the",
    "thanks",
    "thank",
    "please",
    "but",
    "so",
    "again",
}
_NON_NAMES = {
    # answers and fillers
    "yes",
    "yeah",
    "yep",
    "no",
    "nope",
    "nah",
    "sure",
    "ok",
    "okay",
    "um",
    "uh",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "please",
    "sorry",
    "well",
    "so",
    "just",
    "actually",
    "right",
    "correct",
    "fine",
    "good",
    "great",
    "bye",
    "goodbye",
    "maybe",
    "what",
    "who",
    "why",
    "how",
    "when",
    "where",
    "that",
    "this",
    "it",
    "is",
    "not",
    # pronouns, articles, prepositions, common verbs
    "i",
    "i'm",
    "me",
    "my",
    "we",
    "you",
    "your",
    "he",
    "she",
    "they",
    "them",
    "a",
    "an",
    "the",
    "for",
    "about",
    "with",
    "from",
    "to",
    "in",
    "on",
    "at",
    "of",
    "and",
    "or",
    "but",
    "need",
    "want",
    "would",
    "like",
    "have",
    "has",
    "had",
    "do",
    "does",
    "did",
    "can",
    "could",
    "will",
    "looking",
    "calling",
    "interested",
    "trying",
    "wondering",
    "here",
    "there",
    "going",
    "gonna",
    "wanna",
    "also",
    "still",
    "really",
    "very",
    "busy",
    "ready",
    "done",
    "available",
    "open",
    "closed",
    "broken",
    "late",
    "early",
    "urgent",
    "new",
    "used",
    "booked",
    "free",
    "back",
    "again",
    "all",
    "be",
    "been",
    "get",
    "got",
    "make",
    "book",
    "cancel",
    "call",
    "speak",
    "talk",
    "check",
    "come",
    "bring",
    "drop",
    "asking",
    "hoping",
    "thinking",
    "glad",
    "happy",
    "afraid",
    "confused",
    "lost",
    "wrong",
    "perfect",
    "alright",
    # dialog topics
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "today",
    "tomorrow",
    "tonight",
    "morning",
    "afternoon",
    "evening",
    "noon",
    "week",
    "weekend",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "oil",
    "change",
    "brake",
    "brakes",
    "tire",
    "tires",
    "service",
    "appointment",
    "car",
    "truck",
    "suv",
    "test",
    "drive",
    "engine",
    "light",
    "battery",
    "inspection",
    "rotation",
    "honda",
    "toyota",
    "ford",
    "chevy",
    "camry",
    "civic",
    "am",
    "pm",
    "number",
    "phone",
    "email",
    "name",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "zero",
    "human",
    "person",
    "manager",
    "agent",
    "representative",
}
_NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+|[^\sA-Za-z\d]")
_LEADING_FILLERS = {
    "yes",
    "yeah",
    "yep",
    "sure",
    "ok",
    "okay",
    "um",
    "uh",
    "so",
    "well",
    "oh",
    "hi",
    "hello",
    "hey",
    "it",
    "its",
    "it's",
    "that's",
    "thats",
    "sorry",
    "and",
}


def _is_name_word(tok: str) -> bool:
    low = tok.lower().replace("’", "'")
    return bool(re.fullmatch(r"[a-z][a-z'-]*", low)) and low not in _NON_NAMES and len(low) <= 20


def _titled(words: list[str]) -> str:
    out = []
    for w in words:
        w = w.replace("’", "'")
        out.append(w if (not w.islower() and not w.isupper()) else w.lower().title())
    return " ".join(out)


def _match_cue(lows: list[str], cues: tuple[tuple[str, ...] | str, ...]) -> int | None:
    for i in range(len(lows)):
        for cue in cues:
            seq = (cue,) if isinstance(cue, str) else cue
            if tuple(lows[i : i + len(seq)]) == seq:
                return i + len(seq)
    return None


def _collect(tokens: list[str], start: int) -> tuple[list[str], str]:
    words: list[str] = []
    i = start
    while i < len(tokens) and len(words) < 5 and _is_name_word(tokens[i]):
        if tokens[i].lower() in _TERMINATORS:
            break
        words.append(tokens[i])
        i += 1
    return words, tokens[i].lower() if i < len(tokens) else ""


def parse_name(text: str, *, expecting_name: bool = False) -> str | None:
    """The caller's name ("my name is John Smith", "it's Dave"), title-cased, at most 4 words; else None.

    With `expecting_name` (the agent just asked for it) a bare "John Smith" counts too. Weak cues such
    as "it's"/"I'm" need a capitalised word or an utterance that ends right after the name, so "I'm
    looking for a truck" or "it's broken down" are not names.
    """
    tokens = _NAME_TOKEN.findall(text[:_MAX_CHARS])
    lows = [t.lower().replace("’", "'") for t in tokens]
    strong = _match_cue(lows, _STRONG_CUES)
    weak = None if strong is not None else _match_cue(lows, _WEAK_CUES)
    start = strong if strong is not None else weak
    if start is None and expecting_name:
        start = 0
        while start < len(lows) and lows[start] in _LEADING_FILLERS | {",", ".", "!"}:
            start += 1
    if start is None:
        return None
    words, stop = _collect(tokens, start)
    if not words or len(words) > 4:
        return None
    ends_cleanly = stop in ("", ",", ".", "!", "?", ";") or stop in _TERMINATORS
    if strong is None and weak is not None and not expecting_name:
        capitalised = all(w[0].isupper() for w in words)
        if not (capitalised or ends_cleanly):
            return None
    if strong is None and weak is None and not ends_cleanly:
        return None
    return _titled(words)
