"""Yes/no answers and self-corrections in a caller's reply to a confirmation question."""

from __future__ import annotations

import re
from typing import Literal

from rapidfuzz import fuzz

YesNo = Literal["yes", "no"]

# Phrases that contain "no"/"not" but mean yes; replaced before the cue scan.
_YES_IDIOMS = re.compile(
    r"\b(no problem|no worries|not a problem|why not|no doubt|can't complain|no objection)\b"
)
# Uncertainty is neither yes nor no; removed so its "no"/"not" does not count.
_UNSURE = re.compile(
    r"\b(i )?(don'?t|do not) know\b|\bnot (sure|certain)\b|\bno idea\b|\bmaybe\b|\bi'?m not positive\b"
)
_NO_CUES = re.compile(
    r"\b(that'?s|that is|it'?s|it is) not (right|correct|it|what i (said|meant|wanted))\b"
    r"|\b(isn'?t|is not|wasn'?t|not) (right|correct|quite|really|it|good)\b"
    r"|\b(doesn'?t|does not|won'?t|will not|wouldn'?t|can'?t|cannot) work\b"
    r"|\bdon'?t think so\b|\bi (don'?t|do not) (want|need) (it|that|to|one|this)\b"
    r"|\b(don'?t|do not) (book|do|schedule) (it|that)\b|\bnot at all\b|\bno way\b|\bnuh uh\b"
    r"|\b(no|nope|nah|negative|wrong|incorrect|neither)\b"
)
_YES_CUES = re.compile(
    r"\b(sounds|looks|that'?s|that is|it'?s|all) (good|great|fine|perfect|right|correct|okay|ok)\b"
    r"|\b(that|it|this|which|friday|monday|tuesday|wednesday|thursday|saturday|sunday) (works|work)\b"
    r"|\bworks for me\b|\bgo (ahead|for it)\b|\bplease do\b|\b(do|book) it\b|\blet'?s do (it|that)\b"
    r"|\bof course\b|\buh huh\b|\bmm+ ?hmm+\b|\bmhm+\b|\bthat (would|'?d) be (great|good|perfect|fine)\b"
    r"|\bi'?d like that\b|\bi guess so\b|\byes sir\b|\byes ma'?am\b|\b(all ?right|alright)\b"
    r"|\b(yes|yeah|yea|ya|yep|yup|yah|sure|surely|certainly|correct|exactly|absolutely|definitely"
    r"|affirmative|ok|okay|perfect|yess+|indeed|totally|precisely|confirmed|confirm)\b"
)
# What a recogniser writes for a spoken yes, near enough ("yeh", "yay", "corrector") when yes/no was asked.
_YES_WORDS = ("yes", "yeah", "yep", "yup", "yah", "yay", "sure", "correct", "okay", "absolutely", "exactly")
_NO_WORDS = ("no", "nope", "nah", "not", "know", "now", "never", "wrong", "incorrect", "negative", "don't")
_SOFT_WORDS = frozenset({"oh", "um", "uh", "well", "that's", "it's", "is", "that", "very", "so", "e"})
# A yes as Whisper writes it from 8 kHz phone audio ("Yappo." for "Yep.", "Yeee!", "Yeeza!", "Yee-haw." and "Yai-e-e."
# for "Yes.", each from a real call), not "yet", "year".
_YES_SOUND = re.compile(r"^(ye+[ahpsz]*o?|ye+-?ha+w+|ya+[hpy]*o?|ya+i+|yahoo+|yu+p+|yip+)$")
_YES_SOUND_SPLIT = re.compile(r"\b(ye+) (ha+w+)\b")  # "Yee-haw." normalised to "yee haw"
_BARE_ONLY = re.compile(r"^(right|good|great|fine|cool|awesome|excellent|works)$")

_CORRECTION = re.compile(
    r"^(actually|wait|no wait|oh wait|hold on|hang on|sorry|oops|correction|scratch that)\b"
    r"|\b(change|switch|move) (that|it|this|the \w+) to\b|\bmake (that|it|this) \w+"
    r"|\bi meant?\b|\binstead\b|\bscratch that\b|\bnot \w+ but\b|\b(no|sorry|wait),? i said\b"
    r"|\bthat'?s not what i said\b|\brather\b|\blet me correct\b|\b(how|what) about\b"
    r"|\bi (misspoke|made a mistake)\b|\bshould (be|have been)\b"
)

# Where a caller takes back what they just said inside one utterance ("Tuesday, no, Wednesday"): what
# follows the last of these replaces the earlier value of whatever it names.
_SELF_CORRECTION = re.compile(
    r"(?:^|(?<=[\s,.;!?-]))(?:no,? wait|no,? sorry|no,? no|no|nope|sorry|wait|oops|i mean|i meant|actually"
    r"|or rather|rather|scratch that|make (?:it|that)|change (?:it|that) to|let me correct that)(?=[\s,.;!?]|$)",
    re.IGNORECASE,
)


def _normalise(text: str) -> str:
    lowered = text.lower().replace("’", "'")
    lowered = re.sub(r"[^a-z0-9' ]+", " ", lowered)
    return re.sub(r"\s+", " ", lowered).strip()


def parse_yes_no(text: str, *, asked: bool = False) -> YesNo | None:
    """Whether a reply means yes or no ("yeah that works" -> yes, "not quite" -> no); None if neither.

    When both occur the last cue wins ("yeah no" -> no, "no no that's fine" -> yes), as speakers
    end on the answer they mean. `asked`: the agent just asked a yes/no question, so a short reply that is
    a near-miss of a yes-word as a speech recogniser writes it ("Yay!", "Corrector.") is a yes too.
    """
    norm = _normalise(text)[:300]
    if not norm:
        return None
    if asked and _sounds_like_yes(norm):
        return "yes"
    if _BARE_ONLY.match(norm):
        return "yes"
    norm = _UNSURE.sub(" ", norm)
    cues: list[tuple[int, YesNo]] = []
    masked = _YES_IDIOMS.sub(lambda m: "#" * len(m.group(0)), norm)
    cues.extend((m.start(), "yes") for m in _YES_IDIOMS.finditer(norm))
    for m in _NO_CUES.finditer(masked):
        cues.append((m.start(), "no"))
        masked = masked[: m.start()] + "#" * (m.end() - m.start()) + masked[m.end() :]
    cues.extend((m.start(), "yes") for m in _YES_CUES.finditer(masked))
    if not cues:
        return None
    return max(cues)[1]


def _sounds_like_yes(norm: str) -> bool:
    """ "Yay", "Corrector", "Yeh": a short reply whose words are yes-words misheard, and nothing like a no."""
    words = _YES_SOUND_SPLIT.sub(r"\1\2", norm).split()
    if not words or len(words) > 3 or _NO_CUES.search(norm):
        return False
    heard_yes = False
    for word in words:
        nearest_no = max(fuzz.ratio(word, no) for no in _NO_WORDS)
        if nearest_no >= 80 and nearest_no >= max(fuzz.ratio(word, yes) for yes in _YES_WORDS):
            return False  # "now", "know"; not "correcta", nearer "correct" than "incorrect"
        near = any(
            word == yes
            or _YES_SOUND.match(word) is not None
            or (fuzz.ratio(word, yes) >= 80 and abs(len(word) - len(yes)) <= 2)
            or _a_longer(word, yes)
            for yes in _YES_WORDS
        )
        if not near and word not in _SOFT_WORDS:
            return False
        heard_yes = heard_yes or near
    return heard_yes


def _a_longer(word: str, yes: str) -> bool:
    """ "Corrector" for "correct": a long yes-word with a short ending stuck on (not "correction")."""
    return len(yes) >= 5 and word.startswith(yes) and len(word) - len(yes) <= 2


def is_correction(text: str) -> bool:
    """Whether the caller is changing what they said ("actually, make it Thursday", "no wait, 2 pm")."""
    norm = _normalise(text)[:300]
    return bool(norm) and _CORRECTION.search(norm) is not None


def correction_tail(text: str) -> str | None:
    """What follows the caller's last self-correction ("Tuesday, no, Wednesday at 2" -> "Wednesday at 2")."""
    split = correction_split(text)
    return split[1] if split else None


def correction_split(text: str) -> tuple[str, str] | None:
    """What came before the caller's last self-correction and what follows it, or None without one."""
    cues = list(_SELF_CORRECTION.finditer(text[:600]))
    if not cues:
        return None
    tail = text[cues[-1].end() : 600].strip(" ,.;!?-")
    return (text[: cues[-1].start()].strip(" ,.;!?-"), tail) if tail else None
