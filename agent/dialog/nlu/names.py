"""Names as callers give them ("my name is John Smith", "this is Maria"), with words that are not names."""

from __future__ import annotations

import re
from typing import Literal

from agent.dialog.nlu.name_frequency import COMMON_NAME_SHARE, name_share

_MAX_CHARS = 500

_STRONG_CUES = (
    ("my", "name", "is"),
    ("my", "name's"),
    ("name's"),
    ("the", "name", "is"),
    ("name", "is"),
    ("call", "me"),
    ("surname", "is"),
    ("lastname", "is"),
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
_NON_NAMES = frozenset(
    (  # noqa: SIM905 - a word list grouped by comments reads better than 200 quoted words
        # answers and fillers
        "yes yeah yep no nope nah sure ok okay um uh hi hello hey thanks thank please sorry well so just "
        "actually right correct fine good great bye goodbye maybe what who why how when where that this "
        "it is not "
        # pronouns, articles, prepositions, common verbs
        "i i'm me my we you your he she they them a an the for about with from to in on at of and or but "
        "need want would like have has had do does did can could will looking calling interested trying "
        "wondering here there going gonna wanna also still really very busy ready done available open "
        "closed broken late early urgent new used booked free back again all be been get got make book "
        "cancel call speak talk check come bring drop asking hoping thinking glad happy afraid confused "
        "lost wrong perfect alright "
        # dialog topics
        "monday tuesday wednesday thursday friday saturday sunday today tomorrow tonight morning "
        "afternoon evening noon week weekend january february march april june july august september "
        "october november december oil change brake brakes tire tires service appointment car truck suv "
        "test drive engine light battery inspection rotation honda toyota ford chevy camry civic am pm "
        "number phone email name one two three four five six seven eight nine ten zero human person "
        "manager agent representative "
    ).split()
)
# Words of the dialog's topics that are family names too, after a first name ("Henry Ford").
_SURNAMES_TOO = frozenset({"ford", "price", "early", "young", "king", "rich", "best"})
_NAME_PART = re.compile(r"\b(?:(last|family|sur) ?name|(first|given|christian) name)\b", re.IGNORECASE)
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
    while (
        i < len(tokens)
        and len(words) < 5
        and (_is_name_word(tokens[i]) or (words and tokens[i].lower() in _SURNAMES_TOO))
    ):
        if tokens[i].lower() in _TERMINATORS:
            break
        words.append(tokens[i])
        i += 1
    return words, tokens[i].lower() if i < len(tokens) else ""


_SPELLING_GAP = {",", ".", "-"}
_SPELLING_LEADS = {"that's", "thats", "spelled", "spelt", "it's", "its", "as", "in", "like", "that", "is"}


def _join_spelled(tokens: list[str]) -> list[str]:
    """Letters said one by one ("K I M", "K-I-M", "K. I. M.") become the one word they spell ("Kim")."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if re.fullmatch(r"[A-Za-z](?:-[A-Za-z])+", tokens[i]):
            out.append(tokens[i].replace("-", "").title())
            i += 1
            continue
        letters: list[str] = []
        j = i
        while j < len(tokens) and len(tokens[j]) == 1 and tokens[j].isalpha():
            letters.append(tokens[j])
            j += 1
            while (
                j < len(tokens)
                and tokens[j] in _SPELLING_GAP
                and j + 1 < len(tokens)
                and len(tokens[j + 1]) == 1
            ):
                j += 1
        if len(letters) >= 2:
            out.append("".join(letters).title())
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return out


def _respelled(words: list[str], tokens: list[str], after: int) -> list[str]:
    """ "Kim, K I M" or "Smith, that's S M Y T H": the spelling right after a name replaces its last word."""
    i = after
    while i < len(tokens) and (tokens[i] in _SPELLING_GAP or tokens[i].lower() in _SPELLING_LEADS):
        i += 1
    if i >= len(tokens) or i == after:
        return words
    spelled = tokens[i]
    was_spelled = spelled.istitle() and len(spelled) >= 2 and spelled.lower()[0] == words[-1].lower()[0]
    if was_spelled and (i + 1 == len(tokens) or not _is_name_word(tokens[i + 1])):
        return [*words[:-1], spelled]
    return words


def parse_name(text: str, *, expecting_name: bool = False) -> str | None:
    """The caller's name ("my name is John Smith", "it's Dave"), title-cased, at most 4 words; else None.

    With `expecting_name` (the agent just asked for it) a bare "John Smith" counts too. Weak cues such
    as "it's"/"I'm" need a capitalised word or an utterance that ends right after the name, so "I'm
    looking for a truck" or "it's broken down" are not names. A spelled name ("Kim, K I M") is joined.
    """
    tokens = _join_spelled(_NAME_TOKEN.findall(text[:_MAX_CHARS]))
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
    end = start + len(words)  # the token after the name
    if (
        expecting_name
        and len(words) == 1
        and stop == ","
        and _family_name_after_comma(words[0], tokens, end + 1)
    ):
        words, end = [words[0], tokens[end + 1]], end + 2
        stop = tokens[end].lower() if end < len(tokens) else ""
    if not words or len(words) > 4 or all(len(w) == 1 for w in words):
        return None
    ends_cleanly = stop in ("", ",", ".", "!", "?", ";") or stop in _TERMINATORS
    if strong is None and weak is not None and not expecting_name:
        capitalised = all(w[0].isupper() for w in words)
        if not (capitalised or ends_cleanly):
            return None
    if strong is None and weak is None and not ends_cleanly:
        return None
    return _titled(_respelled(words, tokens, end))


def _family_name_after_comma(first: str, tokens: list[str], at: int) -> bool:
    """ "Anna, Brooke.": one capitalised word after the comma, and nothing more; both common names (Whisper's
    comma for a breath inside a full name, not a word after a first name: "John, thanks.")."""
    second = tokens[at] if at < len(tokens) else ""
    after = tokens[at + 1] if at + 1 < len(tokens) else ""
    if not (_is_name_word(second) and second[0].isupper() and after in ("", ".", "!", ",")):
        return False
    if second.lower() == first.lower():
        return False  # the name again, or spelled out ("Kim, K I M")
    return min(name_share(first), name_share(second)) >= COMMON_NAME_SHARE


def name_part(text: str) -> Literal["first", "last"] | None:
    """Which part of the name the caller is giving ("the last name is Watson" -> "last"), if they say so."""
    found = _NAME_PART.search(text[:_MAX_CHARS])
    if found is None:
        return None
    return "last" if found.group(1) else "first"
