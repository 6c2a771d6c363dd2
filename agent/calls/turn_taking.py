"""Turn-taking policy: how long a silence ends the caller's turn, and which interruptions are real."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from agent.dialog.nlu.name_frequency import COMMON_NAME_SHARE, name_share

# Words that mean the caller is mid-way through something they are reading out.
_UNFINISHED = re.compile(
    r"(\b(and|or|but|so|um|uh|er|my|is|it's|the|a|at|dot|number|name|email|phone|address|to|on)\s*$)"
    r"|(\d\s*$)|(\b(zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty)\s*$)",
    re.IGNORECASE,
)
# A trailing number that is a whole thing, not the first digits of something being read out.
_WHOLE_NUMBER_AT_END = re.compile(
    r"(\$\s?[\d,.]+|\b\d{1,3}(,\d{3})+|\b(at|by|around|after|before|until)\s+\d{1,2}(:\d{2})?|\b(19|20)\d{2})$",
    re.IGNORECASE,
)
# "one" as a word for a thing offered, not a digit: "The first one.", "Yes, use that one." (a slot picked).
_ONE_OFFERED = re.compile(
    r"\b(that|this|the|other|either|any|which|first|second|third|last|earlier|later|new|same)\s+one$",
    re.IGNORECASE,
)
# A question ("what's your phone number?") is finished even when Whisper forgets its question mark.
_QUESTION = re.compile(
    r"^(sorry,?\s+)?(what|what's|when|where|how|who|which|why|do|does|did|can|could|is|are|will|would)\b",
    re.IGNORECASE,
)
_EMAIL_SO_FAR = re.compile(r"\be-?mail\b[^.?!]*\b(is|it's)\b", re.IGNORECASE)
# Whisper's words for a "five" said on its own in a number: "Bye bye bye." (piper voices, base, 19 of 68 fragments
# that began "five five five") and "Time time time, 014-6161." (the espeak voice through G.711, tiny.en and base).
FIVE_HEARD_AS = frozenset({"bye", "time"})
# "five five five" on its own, the first group of a number ("Bye bye bye.", "Bye, bye!", "Time time time").
_BYE_BYE = re.compile(rf"(({'|'.join(sorted(FIVE_HEARD_AS))})\b[\s,.!-]*){{2,}}", re.IGNORECASE)
_TRAILING_FILLER = re.compile(r"\b(and|or|but|so|um|uh|er)\s*$", re.IGNORECASE)
_BACKCHANNEL = re.compile(
    r"^\s*(mm+[- ]?hmm+|uh[- ]?huh|mhm+|hmm+|mm+|okay|ok|yeah|yep|right|sure|i see|got it|uh|um|ah|oh)[.!,]*\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TurnTakingConfig:
    end_silence_s: float = 0.45  # silence that ends a complete-sounding turn
    patient_silence_s: float = 1.3  # while the caller reads out a number, a name, an email or a date
    barge_in_min_s: float = 0.35  # caller speech over the agent that counts as an interruption
    # A caller who starts speaking again this soon after the end of their last turn's speech was not done:
    # the two are answered as one utterance (0 turns it off).
    continuation_window_s: float = 1.5
    # ... unless the agent's answer has already been heard this long: then the caller is reacting to it
    # ("mm-hmm", a question about it), which is a new turn or a barge-in, not the rest of the old one.
    continuation_max_heard_s: float = 0.7
    resume_after_false_interruption: bool = True
    thinking_ack_after_s: float | None = None  # an answer this late is preceded by THINKING_ACK (None: never)
    # The answer to a turn that sounds finished is worked out (dialog, first sentence's audio) while the
    # end-of-turn silence still runs, and said the moment the turn is taken.
    prepare_answers: bool = True


THINKING_ACK = "One moment."


DIGIT_TOKEN = re.compile(r"\d+|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b", re.IGNORECASE)


def is_digit_loop(text: str) -> bool:
    """Whisper looping on a number read out slowly ("5, 5, 5, 5, 5, 5", "555 555 555 555"): the same digit
    group four times or more in a row is not what a caller says, and not a whole phone number."""
    found = list(DIGIT_TOKEN.finditer(text))
    run = 1
    for previous, token in itertools.pairwise(found):
        # words between them end the run: "the first one, the first one, ..." is a phrase looping, not a digit
        adjacent = not re.search(r"[a-z]", text[previous.end() : token.start()], re.IGNORECASE)
        run = run + 1 if adjacent and token.group(0).lower() == previous.group(0).lower() else 1
        if run >= 4:
            return True
    return False


# A number read out unprompted: "my number is ...", or digit groups ("555-014", "5, 5, 5, 0, 1, 4").
_PHONE_LIKE = re.compile(r"\b(number|phone)\b|\d{3}[\s,.-]+\d{2,}|(\d[\s,.-]+){4,}\d", re.IGNORECASE)


# Letters inside a run of digits: Whisper's spelling of a spoken "oh" it could not place ("555-VID-114-9876").
_LETTERS_IN_DIGITS = re.compile(
    r"\d[\s-]*\b(?!(?:oh|zero|one|two|three|four|five|six|seven|eight|nine|double|triple)\b)[a-z]{2,5}\b[\s-]*\d",
    re.IGNORECASE,
)


def garbled_number(text: str, awaiting: str | None) -> bool:
    """A phone number that did not come out whole: asked for one (or five digits or more were heard) and
    it is not ten clean digits, or Whisper looped on it. Worth a second, more accurate decode."""
    digits = _digits_heard(text)
    if digits == 0 or (awaiting != "phone" and (digits < 5 or not _PHONE_LIKE.search(text))):
        return False
    return not whole_number(text)


def whole_number(text: str) -> bool:
    """Ten digits, no loop, no letters among them: a phone number as a caller says it."""
    return _digits_heard(text) == 10 and not is_digit_loop(text) and not _LETTERS_IN_DIGITS.search(text)


def _digits_heard(text: str) -> int:
    words = re.findall(r"\d|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b", text.lower())
    doubles = len(re.findall(r"\b(?:double|triple)\b", text.lower()))
    return len(words) + doubles


def required_silence(config: TurnTakingConfig, transcript: str, awaiting: str | None) -> float:
    """Short after a finished sentence; long while the caller is reading out a number, email or name."""
    bare = transcript.strip().rstrip(".!?,; ")
    if not bare:
        return config.end_silence_s
    if is_digit_loop(bare):  # Whisper looping on the start of a number: the rest is still to come
        return config.patient_silence_s
    if _digits_heard(bare) >= 10:  # a whole phone number, whatever was asked: nothing more is coming
        return config.end_silence_s
    if awaiting == "phone" and _BYE_BYE.fullmatch(bare + " "):
        return config.patient_silence_s  # "five five five" misheard: the rest of the number decides
    if awaiting == "phone" and re.search(
        r"\d|\b(oh|zero|one|two|three|four|five|six|seven|eight|nine)\b", bare
    ):
        return config.patient_silence_s if _digits_heard(bare) < 10 else config.end_silence_s
    if _UNFINISHED.search(bare) and not _complete_anyway(bare, awaiting):
        return config.patient_silence_s
    if _EMAIL_SO_FAR.search(bare) and not re.search(r"\b(com|net|org|edu|gov|io|us|example)$", bare.lower()):
        return config.patient_silence_s  # an e-mail address volunteered and still being read out
    if awaiting == "code" and len(re.sub(r"[^a-z0-9]", "", bare.lower())) < 6:
        return config.patient_silence_s
    return config.end_silence_s


def _complete_anyway(bare: str, awaiting: str | None) -> bool:
    """An ending that looks unfinished but is not: an amount, a time, a year, or a question."""
    if _TRAILING_FILLER.search(bare):
        return False
    if _QUESTION.search(bare) and awaiting not in ("phone", "name"):
        return True
    if _ONE_OFFERED.search(bare) and awaiting not in ("phone", "code"):
        return True
    return awaiting not in ("phone", "code") and bool(_WHOLE_NUMBER_AT_END.search(bare))


UNSURE_LOGPROB = -0.6  # mean token log-probability below which a short burst's words are doubted
_TAKES_THE_FLOOR = {"stop", "wait", "no", "hold", "sorry", "hello", "hey", "excuse", "pardon", "what"}


_AFFIRMATION = re.compile(
    r"^\s*((yes|yeah|yep|yup|yay|sure|correct|right|exactly|perfect|great|please|ok|okay|absolutely|definitely|"
    r"that's (correct|right|it|fine|good|perfect)|that is (correct|right)|sounds good|use that one|that one)"
    r"[\s.!,]*)+$",
    re.IGNORECASE,
)


def is_affirmation(words: str) -> bool:
    """ "That's correct", "yes, sure": words that only agree, nothing more."""
    return bool(_AFFIRMATION.match(words))


def is_backchannel(transcript: str) -> bool:
    """'mm-hmm', 'okay', 'yeah': the caller is listening, not taking the turn."""
    return bool(_BACKCHANNEL.match(transcript))


def is_full_name(words: list[str]) -> bool:
    """Two words that are both common names ("anna brooke"), not what Whisper makes of a murmur ("man, man")."""
    return len(words) == 2 and words[0] != words[1] and all(name_share(w) >= COMMON_NAME_SHARE for w in words)


def is_false_interruption(
    transcript: str, speech_s: float, short_s: float = 0.8, *, avg_logprob: float = 0.0
) -> bool:
    """A cough, a noise or a murmur over the agent: nothing heard, a backchannel, a stray word or two in a
    short burst (Whisper turns "mm-hmm" into "Amendment" or "Man, man"), or a short burst Whisper is unsure
    of (it heard "No, no, no." in a half-second "mm-hmm"). A clear "stop", "wait" or "no" counts."""
    text = transcript.strip()
    if not text or is_backchannel(text):
        return True
    words = re.findall(r"[a-z']+", text.lower())
    if is_full_name(words):
        return False  # a caller giving their name over a question ("Anna, Brooke." under babble, a real call)
    if speech_s < short_s and avg_logprob < UNSURE_LOGPROB:
        return True
    return speech_s < short_s and len(words) <= 2 and not (set(words) & _TAKES_THE_FLOOR)
