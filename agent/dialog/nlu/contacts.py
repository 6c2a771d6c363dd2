"""Phone numbers and e-mail addresses as callers say them ("five five five oh one four ...")."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

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


def _is_loop(run: list[str]) -> bool:
    """A speech recogniser stuck in a loop ("500, 500, 500, ..."): a group with a number of two or more digits
    in it, said three times or more in a row. Single digits may repeat ("five five five") and are left alone."""
    for size in (1, 2, 3):
        for start in range(len(run) - 3 * size + 1):
            unit = run[start : start + size]
            if all(token in _DIGIT_WORDS or (token.isdigit() and len(token) == 1) for token in unit):
                continue  # digits read one by one ("five five five") repeat in real numbers
            if (
                run[start + size : start + 2 * size] == unit
                and run[start + 2 * size : start + 3 * size] == unit
            ):
                return True
    return False


def _phone_runs(text: str) -> list[list[str]]:
    tokens = _PHONE_TOKEN.findall(text.lower()[:_MAX_CHARS])
    runs: list[list[str]] = [[]]
    for i, tok in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "a" and after.isdigit() and runs[-1] and len(_phone_run_digits(runs[-1])) < 10:
            runs[-1].append("oh")  # an "oh" among digits that Whisper wrote as a letter ("555, A14, 1234")
        elif tok.isdigit() or tok in _PHONE_WORDS:
            runs[-1].append(tok)
        elif tok in _PHONE_SEPARATORS or (tok in _PHONE_FILLERS and runs[-1]):
            continue
        elif runs[-1]:
            runs.append([])
    return runs


def has_number_loop(text: str) -> bool:
    """Whether the words hold a number said over and over ("500, 500, 500, ..."), a transcription artefact."""
    return any(_is_loop(run) for run in _phone_runs(text))


def parse_phone(text: str) -> str | None:
    """The 10-digit US number in `text` ("five five five, oh one four, two two three three"), else None.

    Digits may be spoken, written or mixed; "double five" and "triple oh" repeat; a leading "plus one"
    or "1" country code is dropped. Other numbers in the sentence (years, prices) are separate runs. A run
    that loops ("500, 500, 500, 5") is a transcription artefact, not a number.
    """
    for run in sorted(_phone_runs(text), key=len, reverse=True):
        if _is_loop(run):
            continue
        digits = _phone_run_digits(run)
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        if len(digits) == 10 and digits[0] not in "01":
            return digits
    return None


def phone_with_correction(before: str, after: str) -> str | None:
    """A number corrected while it was said ("555, 014, 25, sorry, 2618" -> 5550142618): the digits after
    the correction replace as many of the last digits before it as make a whole number; None otherwise."""
    runs = _phone_runs(before)
    fixed = _phone_runs(after)
    if not runs or not runs[-1] or len([run for run in fixed if run]) != 1 or not fixed[0]:
        return None
    if _is_loop(runs[-1]) or _is_loop(fixed[0]):
        return None
    head, tail = _phone_run_digits(runs[-1]), _phone_run_digits(fixed[0])
    dropped = len(head) + len(tail) - 10
    if not 0 <= dropped <= len(tail) or dropped > len(head):
        return None
    digits = head[: len(head) - dropped] + tail
    return digits if digits[0] not in "01" else None


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


_MISHEARD_DOT = re.compile(r"d[aeiou][a-z]{0,2}")  # "dat", "dut", "darp": a "dot" as Whisper writes it


def with_name_dot(email: str, name: str | None) -> str:
    """'johndatsmith@...' from a caller named John Smith is 'john.smith@...' with the spoken "dot" misheard
    (over the phone Whisper writes "John Datsmith", "Lisa Darpmore" for Lisa Moore); an address without a
    dot-like sound between the two names is left alone."""
    parts = re.findall(r"[a-z]+", (name or "").lower())
    local, _, domain = email.partition("@")
    if len(parts) < 2 or not domain or not local.startswith(parts[0]):
        return email
    first, last = parts[0], parts[-1]
    rest = local[len(first) :].strip("._-")
    for cut in range(2, 5):
        sound, tail = rest[:cut], rest[cut:].strip("._-")
        if _MISHEARD_DOT.fullmatch(sound) and tail and fuzz.ratio(tail, last) >= 80:
            return f"{first}.{last}@{domain}"
    return email


def parse_email(text: str, *, name: str | None = None) -> str | None:
    """The e-mail address in `text`, written or spoken ("john dot smith at gmail dot com"), lowercased.
    `name`: the caller's name when known, to repair a misheard "dot" between their first and last name."""
    found = _parse_email(text)
    return with_name_dot(found, name) if found else None


def _parse_email(text: str) -> str | None:
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
