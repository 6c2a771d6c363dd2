"""Text for the ear: rewrite written forms (abbreviations, day ranges, URLs, markdown) the way a person says them."""

from __future__ import annotations

import re
from collections.abc import Callable

# What the TTS G2P gets wrong when left alone (checked by synthesising and transcribing back): "Mon-Fri"
# comes out as "mon fry", "9am" as "nine um", "www" as "doo-ooh", a phone number as "five hundred fifty-five",
# an email loses its dots. Prices, decimals, "9:30 a.m.", "St." and "Dr." are already read correctly.

_DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "tues": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "thur": "Thursday",
    "thurs": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
_DAY_NAMES = "|".join(sorted({name for name in _DAYS.values()}, key=len, reverse=True))
_DAY_ABBR = "|".join(sorted(_DAYS, key=len, reverse=True))
# Title case or all caps only, so "sat" the verb and "sun" the star survive.
_DAY_WORD = rf"(?:{_DAY_NAMES}|{_DAY_ABBR.title()}|{_DAY_ABBR.upper()})"
# An abbreviation's period goes with it only inside a range ("Mon.-Fri."); a final one may end the sentence.
_DAY_RANGE_RE = re.compile(
    rf"\b({_DAY_WORD})\b\.?\s*(?:-|–|—|to|thru|through)\s*({_DAY_WORD})\b(?:\.(?=[^\s.]))?(?![\w-])"
)
# A lone abbreviation only where hours are listed ("Sat 9-5", "Sun: closed", "Thurs."), not "Sat down".
_DAY_ALONE_RE = re.compile(
    rf"\b({_DAY_ABBR.title()}|{_DAY_ABBR.upper()})\b(?:\.(?=[^\s.]))?(?=\s*(?:[:,;()]|\d|$|and\b|&|closed\b|open\b)|\.)"
)

_MERIDIEM_RE = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*([aApP])\.?\s?[mM]\b\.?")
_TIME_RANGE_RE = re.compile(
    r"\b(\d{1,2}(?::\d{2})? [ap]\.m\.)\s*(?:-|–|—)\s*(\d{1,2}(?::\d{2})?)(?=\s*[ap]\.m\.|\b)"
)

_EMAIL_RE = re.compile(r"\b([A-Za-z0-9][A-Za-z0-9._%+-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\b")
_URL_RE = re.compile(
    r"\b(?:https?://)?(?:www\.)?((?:[A-Za-z0-9-]+\.)+(?:com|net|org|example|info|biz|us|io|co|auto|cars|dealer))"
    r"((?:/[\w./%-]*)?)(?=[\s,;:!?)]|\.(?:\s|$)|$)",
    re.IGNORECASE,
)
_PHONE_RE = re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?\(?(\d{3})\)?[\s.-]?(\d{3})[\s.-](\d{4})(?![\w-])")

_ABBREVIATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\be\.\s?g\.(?:,)?", re.IGNORECASE), "for example,"),
    (re.compile(r"\bi\.\s?e\.(?:,)?", re.IGNORECASE), "that is,"),
    (re.compile(r"\betc\.(?=\s+[a-z])"), "et cetera,"),
    (re.compile(r"\betc\.?"), "et cetera."),
    (re.compile(r"\bvs\.?(?=\s)"), "versus"),
    (re.compile(r"\bapprox\.(?=\s)"), "approximately"),
    (re.compile(r"\b24/7\b"), "twenty-four seven"),
    (re.compile(r"\bhrs?\b\.?"), "hours"),
    (re.compile(r"\bmins?\b\.?"), "minutes"),
    (re.compile(r"\bappt\b\.?", re.IGNORECASE), "appointment"),
)

_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)")
_MD_LINE_MARK_RE = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d{1,2}[.)]\s+)", re.MULTILINE)
_MD_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`+|~~)")
_PAREN_RE = re.compile(r"\s*[(\[{]([^)\]}]*)[)\]}]")
_DASH_RE = re.compile(r"\s+[–—-]\s+|—")
_SPACES_RE = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([,.;:!?])")
_REPEATED_COMMA_RE = re.compile(r",\s*(?=[,.;:!?])")

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _day(token: str) -> str:
    key = token.rstrip(".").lower()
    return _DAYS.get(key, token.rstrip(".").title())


def _day_range(match: re.Match[str]) -> str:
    return f"{_day(match.group(1))} to {_day(match.group(2))}"


def _day_alone(match: re.Match[str]) -> str:
    return _day(match.group(1))


def _meridiem(match: re.Match[str]) -> str:
    hour, minute, letter = match.group(1), match.group(2), match.group(3).lower()
    clock = hour if minute in (None, "00") else f"{hour}:{minute}"
    return f"{clock} {letter}.m."


def _time_range(match: re.Match[str]) -> str:
    return f"{match.group(1)} to {match.group(2)}"


def _spell_part(part: str) -> str:
    """One piece of an address: words stay, separators are said, digit runs read digit by digit."""
    out: list[str] = []
    for token in re.findall(r"[A-Za-z]+|\d+|[._%+/-]", part):
        if token.isdigit():
            out.append(" ".join(_DIGIT_WORDS[int(d)] for d in token))
        else:
            out.append(
                {".": "dot", "_": "underscore", "-": "dash", "+": "plus", "%": "percent", "/": "slash"}.get(
                    token, token
                )
            )
    return " ".join(out)


def _email(match: re.Match[str]) -> str:
    return f"{_spell_part(match.group(1))} at {_spell_part(match.group(2))}"


def _url(match: re.Match[str]) -> str:
    domain, path = match.group(1), match.group(2).rstrip("/.")
    spoken = _spell_part(domain.lower())
    if path:
        spoken += " " + _spell_part(path)
    return spoken + ("." if match.group(2).endswith(".") else "")  # the sentence's own period


def _phone(match: re.Match[str]) -> str:
    # Digit by digit in the usual 3-3-4 groups; the commas give the pauses people expect.
    return ", ".join(" ".join(group) for group in match.groups())


def _paren(match: re.Match[str]) -> str:
    inner = match.group(1).strip()
    return f", {inner}," if inner else ""


def strip_markdown(text: str) -> str:
    """Drop markdown that an LLM may emit: headings, bullets, emphasis, code ticks; links keep their words."""
    text = _MD_LINK_RE.sub(r"\1", text)
    text = _MD_LINE_MARK_RE.sub("", text)
    return _MD_EMPHASIS_RE.sub("", text)


_STEPS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL_RE, _email),
    (_URL_RE, _url),
    (_PHONE_RE, _phone),
    (_DAY_RANGE_RE, _day_range),
    (_MERIDIEM_RE, _meridiem),
    (_TIME_RANGE_RE, _time_range),
    (_DAY_ALONE_RE, _day_alone),
)


def normalise_for_speech(text: str) -> str:
    """Rewrite text so a TTS engine says it the way a receptionist would; idempotent on its own output."""
    text = strip_markdown(text)
    for pattern, replacement in _STEPS:
        text = pattern.sub(replacement, text)
    for pattern, words in _ABBREVIATIONS:
        text = pattern.sub(words, text)
    text = re.sub(r"\s*&\s*", " and ", text)
    text = _PAREN_RE.sub(_paren, text)
    text = _DASH_RE.sub(", ", text)
    text = re.sub(r"(?<=[\w)])[ \t]*\n+", ". ", text)  # a line without end punctuation still ends a thought
    text = text.replace("\n", " ")
    text = _SPACES_RE.sub(" ", text)
    text = _REPEATED_COMMA_RE.sub("", text)
    text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)
    return text.strip().lstrip(",;: ").strip()


# --- sentences ---------------------------------------------------------------------------------------------

# A period after these never ends a sentence ("Dr. Patel", "St. Louis", "No. 5", "Mt. Vernon").
_TITLES = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "mt", "sr", "jr", "rev", "fr", "capt", "lt", "sgt", "no"}
)
# Street suffixes end a sentence only after a street address ("at 12 Main St. We open at nine").
_STREET_SUFFIXES = frozenset({"st", "ave", "blvd", "rd", "ln", "hwy"})
_INITIALISM_RE = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")  # "e.g", "U.S", "a.m" (the final period excluded)
_END_RE = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")
_MONTHS_AND_DAYS = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
MIN_WORDS = 3


def _word_before(text: str, end: int) -> tuple[str, str]:
    """The token that ends at `end` (the sentence-final punctuation) and the token before it."""
    words = text[:end].split()
    word = words[-1].lstrip("\"'“‘([") if words else ""
    previous = words[-2] if len(words) > 1 else ""
    return word, previous


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Does the punctuation in `match` end a sentence, given the character that follows it?"""
    following = text[match.end() :]
    next_word = following.split(maxsplit=1)[0] if following.strip() else ""
    if match.group(1) != ".":
        return True  # "!", "?", "..." and "…"
    if next_word[:1].islower():
        return False  # "9 a.m. to 6 p.m.", "e.g. oil changes"
    word, previous = _word_before(text, match.start(1))
    key = word.lower()
    if (
        key in _STREET_SUFFIXES
        and previous[:1].isupper()
        and re.search(r"\d+\s+\S+\s+\S+$", text[: match.start(1)])
    ):
        return True
    if key in _TITLES:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial: "J. Smith"
    if _INITIALISM_RE.match(word):
        # "a.m."/"p.m." end a sentence before a new one ("at 9 a.m. See you"), not before a day ("9 a.m. Monday").
        return key in {"a.m", "p.m"} and next_word.strip("\"'“‘(),.;:!?").lower() not in _MONTHS_AND_DAYS
    return True


def _split_line(line: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _END_RE.finditer(line):
        if match.end() < len(line) and _is_boundary(line, match):
            out.append(line[start : match.start(3)].strip())
            start = match.end()
    out.append(line[start:].strip())
    return [s for s in out if s]


def _join(first: str, second: str) -> str:
    """Join two fragments; one without end punctuation (a list line) gets a period so the voice pauses."""
    if not first:
        return second
    if not second:
        return first
    if first[-1] not in ".!?,;:…\"'”’)":
        first += "."
    return f"{first} {second}"


def _merge_short(sentences: list[str], min_words: int) -> list[str]:
    """Join fragments of fewer than `min_words` words to the next sentence ("Sure. I can help with that.")."""
    merged: list[str] = []
    pending = ""
    for sentence in sentences:
        pending = _join(pending, sentence)
        if len(pending.split()) >= min_words:
            merged.append(pending)
            pending = ""
    if pending:
        if merged:
            merged[-1] = _join(merged[-1], pending)
        else:
            merged.append(pending)
    return merged


def split_sentences(text: str, *, min_words: int = MIN_WORDS) -> list[str]:
    """Sentences to synthesise one at a time; line breaks end a sentence, very short fragments are merged."""
    sentences: list[str] = []
    for line in text.splitlines():
        sentences.extend(_split_line(line))
    return _merge_short(sentences, min_words)


_CLAUSE_RE = re.compile(r"[,;:]\s+")


def quick_first_chunk(sentences: list[str], *, max_words: int = 12, min_words: int = 4) -> list[str]:
    """Cut a long first sentence at its first clause (comma, semicolon, colon) after `min_words` words, so the
    caller hears the start of a long answer while the rest is still being synthesised."""
    if not sentences or len(sentences[0].split()) <= max_words:
        return sentences
    first = sentences[0]
    for match in _CLAUSE_RE.finditer(first):
        head, tail = first[: match.start() + 1].strip(), first[match.end() :].strip()
        if len(head.split()) >= min_words and len(tail.split()) >= min_words:
            return [head, tail, *sentences[1:]]
    return sentences


class SentenceChunker:
    """Turns streamed LLM text into complete sentences as soon as each one is certain to be complete.

    A period is only judged once the next word has arrived ("Dr." + " Patel" is not an end), so a sentence is
    released one token late. Sentences longer than `max_chars` are cut at a clause (comma, semicolon) so the
    first audio is never held back by a run-on sentence. With `normalise`, each sentence comes out ready for TTS.
    """

    def __init__(self, *, normalise: bool = True, min_words: int = MIN_WORDS, max_chars: int = 220) -> None:
        self._normalise = normalise
        self._min_words = min_words
        self._max_chars = max_chars
        self._buffer = ""
        self._pending = ""  # a fragment too short to say alone, waiting for the next sentence

    def push(self, delta: str) -> list[str]:
        """Add streamed text; return the sentences it completed (possibly none)."""
        self._buffer += delta
        complete: list[str] = []
        while True:
            cut = self._next_cut()
            if cut is None:
                break
            sentence, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:].lstrip()
            complete.extend(self._release(sentence))
        return complete

    def flush(self) -> list[str]:
        """End of the stream: everything left, merged into the last sentence if short."""
        rest = _join(self._pending, self._buffer.strip())
        self._buffer = self._pending = ""
        return [self._finish(rest)] if rest.strip() else []

    def _next_cut(self) -> int | None:
        newline = self._buffer.find("\n")
        for match in _END_RE.finditer(self._buffer):
            if 0 <= newline < match.start():
                break
            if (
                match.end() < len(self._buffer)
                and self._decidable(match)
                and _is_boundary(self._buffer, match)
            ):
                return match.end()
        if newline >= 0 and self._buffer[:newline].strip():
            return newline + 1
        if newline >= 0:
            self._buffer = self._buffer[newline + 1 :]
            return self._next_cut()
        if len(self._buffer) > self._max_chars:
            clause = max(
                self._buffer.rfind(", ", 0, self._max_chars), self._buffer.rfind("; ", 0, self._max_chars)
            )
            return clause + 2 if clause > 0 else None
        return None

    def _decidable(self, match: re.Match[str]) -> bool:
        """After "a.m." the whole next word is needed ("9 a.m. Monday" goes on, "9 a.m. Mom" would not)."""
        word, _ = _word_before(self._buffer, match.start(1))
        if word.lower() not in {"a.m", "p.m"}:
            return True
        return re.search(r"\s", self._buffer[match.end() :]) is not None

    def _release(self, sentence: str) -> list[str]:
        text = _join(self._pending, sentence)
        if len(text.split()) < self._min_words:
            self._pending = text
            return []
        self._pending = ""
        return [self._finish(text)]

    def _finish(self, sentence: str) -> str:
        return normalise_for_speech(sentence) if self._normalise else sentence
