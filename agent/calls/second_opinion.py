"""A second, more accurate Whisper decode for what the fast model gets wrong most: phone numbers and names.

Whisper tiny.en is right on most of what callers say and twice as fast as base, but on the caller corpus it
hears "oh one four" as "one one four" (and the number still looks whole), drops a digit or loops on one, and
makes up names it is unsure of ("Lotha King"). Base hears those better and everything else worse (see README,
STT), so it is asked about:
- every turn with a phone number in it, asked for or said in passing: kept when it heard ten clean digits (while
  the dialog waits for a number, base decodes first, and tiny.en only when base heard no whole number: one
  decode instead of two on the turn that has one);
- a day said with no clock time but with words where one would be ("Friday, and tell him the morning" for a
  formant voice's "Friday at 10 in the morning"): base's hearing is kept when it has a time; when it has none,
  tiny.en hears it a third time with times for a prompt and the day and hour it heard are spliced in;
- a name, asked for, that tiny.en was unsure of: the hearing with the more common names is kept (US census
  shares, `agent/dialog/nlu/name_frequency.py`); base's own confidence is no guide: it was surer of "Lisa Moa"
  than tiny.en of "Lisa Moore".
The listener also lets it hear again a turn the dialog did not understand (`Listener.hear_again`).
When neither model has other work, the second decode runs beside the first instead of after its verdict (on the
turns where it is likely wanted), so a call alone on the machine waits for one decode, not two in a row.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from agent.calls.continuations import Utterance
from agent.calls.events import UserTurn
from agent.calls.turn_taking import DIGIT_TOKEN, FIVE_HEARD_AS, garbled_number, is_digit_loop
from agent.dialog.conversation import Conversations, TurnResult
from agent.dialog.nlu.contacts import parse_phone
from agent.dialog.nlu.name_frequency import likelier_name
from agent.log import get_logger
from agent.speech.stt import SAMPLE_RATE, SpeechToText, Transcript

log = get_logger(__name__)

Reason = Literal["number", "name", "time"]
# Whisper's prompt while a phone number is due (the listener's choice), in place of the dealership's words, which
# cost digits. Measured on the corpus's 39 numbers (benchmarks/stt_turns.py, and fragments cut at the caller's
# pauses): tiny.en heard 28 right with this prompt, 27 with none, 22 with the dealership's; base 38, 37, 36; with
# no prompt at all base heard "five five five" alone as "Bye bye bye." in 19 of 68 fragments, 13 with a prompt.
NUMBER_PROMPT = "My number is 555-014-2233."
# A short answer ("Yes.", "Correct.") is heard with no prompt at all: the dealership's words make Whisper tiny.en
# write "Yeee-ha." and "Corrector." (`python -m benchmarks.stt_turns --short 0.8 [--hint]`: on the corpus's 58 turns
# with under 0.8 s of sound, none of them a service or a car, 98.8 % of the words with no prompt, 94.2 % with it).
SHORT_ANSWER_S = 1.0  # the utterance's audio, its pre-roll and the end-of-speech grace included
# ... except a short answer to the read-back ("Is that right?"), heard with the answers a caller gives there: on the
# corpus's 86 turns with under 0.8 s of sound, through 8 kHz mu-law, tiny.en heard "Yep." as "Yappo." and "Correct."
# as "Correct the..." with no prompt and both right with this one; it also made "Frank Young." "Thank you.", so it is
# only the prompt where a yes or a no is the answer expected.
READBACK_ANSWER_PROMPT = "Yes. Yep. Correct. That's right. No."
# Base's prompt for a name's answer: the dealership's words made it loop on a car ("Model 3, Model 3, ..." for a
# "Walter King." in pink noise); with a name for a prompt it heard 26 of the corpus's 33 names through 8 kHz
# mu-law, 24 with the dealership's words (tiny.en, which hears names first, 28 and 27, but one name as nothing).
NAME_PROMPT = "My name is Maria Gonzalez."
# An utterance at least this long may hold a number or a time said in passing: with the models idle, base hears it
# beside tiny.en rather than after it (a name's answer is heard by both too).
SIDE_BY_SIDE_FROM_S = 2.5
UNSURE_OF_A_NAME_BELOW = -0.5  # tiny.en's mean token log-probability: below it, a name is heard again
# A day, then words that are not a time, then a part of the day: tiny.en's hearing of "at 10 in the morning" in a
# formant voice or under noise (real calls: "Friday, and tell him the morning", "Monday, and in the morning",
# "Saturday, I'm green in the afternoon"; base heard the first "at 10"); "at night" for "at 9". A caller's own
# "Friday in the morning" or "Friday morning" is not one.
_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow)"
_TIME_MISHEARD = re.compile(
    rf"\b{_DAY}\b[,.]?\s+(?!in\b)(?:[a-z'-]+[\s,]+){{1,3}}(?:in\s+)?the\s+(?:morning|afternoon|evening)\b"
    r"|\bat\s+night\b",
    re.IGNORECASE,
)
# A third hearing of a time both models missed, by tiny.en with only times for a prompt (the corpus's 45 clock
# times, 8 kHz mu-law: tiny.en heard the hour in 43 with this prompt, 38 with the dealership's words; base 41 and
# 38, and base echoed the prompt's hours: "Monday at 7", "Friday at 2" for two "at 10"). An hour the prompt itself
# holds cannot be told from its echo, so it is not taken from this hearing.
TIME_PROMPT = "Monday at 9 in the morning. Friday at 2 in the afternoon."
_TIME_PROMPT_HOURS = frozenset({"9", "2"})
_DAY_AT_HOUR = re.compile(
    rf"\b({_DAY})\b[,.]?\s+(?:at|around)\s+(\d{{1,2}})(?::\d{{2}})?(?:\s*[ap]\.?m\b\.?)?"
    r"(?:\s+in\s+the\s+(?:morning|afternoon|evening))?",
    re.IGNORECASE,
)
_CLOCK_TIME = re.compile(
    r"\b\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\b|o'clock|in the|,|\.|$)|\b(?:at|around)\s+\d{1,2}\b"
    r"|\b(?:at|around)\s+(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon)\b",
    re.I,
)


def whisper_prompt(awaiting: str | None, audio_s: float, dealership: str | None) -> str | None:
    """Whisper's prompt for one utterance: a number while one is due, nothing for a short answer (unless a service
    or a car is the answer expected: their names are the dealership's words), else the dealership's words."""
    if awaiting == "phone":
        return NUMBER_PROMPT
    if audio_s < SHORT_ANSWER_S and awaiting == "confirm":
        return READBACK_ANSWER_PROMPT
    if audio_s < SHORT_ANSWER_S and awaiting not in ("service", "vehicle"):
        return None
    return dealership


def with_time_heard(first: str, third: str) -> str | None:
    """`first` with its misheard time ("Monday, and in the morning") replaced by the same day with the hour that
    the time-prompted hearing `third` has ("Monday at 10 in the morning"); None when it has no such hour, another
    day, or an hour its prompt holds. The rest of `first` (heard with the dealership's words) stays."""
    misheard = _TIME_MISHEARD.search(first)
    hour = _DAY_AT_HOUR.search(third)
    if misheard is None or hour is None or hour.group(2) in _TIME_PROMPT_HOURS:
        return None
    if not misheard.group(0).lower().startswith(hour.group(1).lower()):
        return None  # "at night", or another day: nothing to put the hour on
    return first[: misheard.start()] + hour.group(0) + first[misheard.end() :]


def second_opinion_reason(heard: Transcript, awaiting: str | None) -> Reason | None:
    """Why base should hear this turn too, or None when tiny.en's words stand."""
    if heard.empty:
        return None  # silence, noise or Whisper's inventions: nothing a caller said to hear better
    if garbled_number(heard.text, awaiting) or parse_phone(heard.text) is not None:
        return "number"  # asked for one, or one heard in passing, whole or garbled
    if awaiting == "name" and (heard.avg_logprob < UNSURE_OF_A_NAME_BELOW or loops(heard.text)):
        return "name"  # unsure, or looping on it ("Pony Evans, Pony Evans, ..." for "Tony Evans.")
    if _TIME_MISHEARD.search(heard.text) and not _CLOCK_TIME.search(heard.text):
        return "time"
    return None


def better_decode(first: Transcript, again: Transcript, reason: Reason) -> Transcript:
    """For a number, the second decode when it holds a whole one; for a name, the likelier name."""
    if reason == "number":
        return again if holds_a_whole_number(again) else first
    if loops(first.text):
        first = replace(first, text=first_phrase(first.text))
    if loops(again.text):  # base looped too, on a live cut ("Tony Evans, Tony Evans, ..."): its words, once
        again = replace(again, text=first_phrase(again.text))
    if again.empty:
        return first
    if reason == "time":
        return again if _CLOCK_TIME.search(again.text) and not _TIME_MISHEARD.search(again.text) else first
    likelier = likelier_name(first.text, again.text)
    return again if likelier == again.text != first.text else first


async def hear_with_second_opinion(
    fast: SpeechToText,
    accurate: SpeechToText,
    audio: npt.NDArray[np.int16],
    awaiting: str | None,
    hint: str | None,
) -> Transcript:
    """One utterance decoded by tiny.en (`fast`) and, where this module says so, by base (`accurate`) too.

    When neither model has other work (a call alone on the machine, or a quiet moment), the two decode side by
    side, one per core, where the second is likely to be wanted: a number's turn, a name, an utterance long
    enough to hold a number or a time said in passing. A decode that turns out not to be needed is dropped; when
    the models are busy, the second decode waits for the first's verdict as before."""
    side_by_side = fast.idle and accurate.idle
    if awaiting == "phone":
        return await _hear_a_number(fast, accurate, audio, hint, side_by_side)
    ahead = side_by_side and (awaiting == "name" or audio.size / SAMPLE_RATE >= SIDE_BY_SIDE_FROM_S)
    base_hint = NAME_PROMPT if awaiting == "name" else hint
    async with _decode(accurate, audio, base_hint, begin_now=ahead) as base_hearing:
        heard = await fast.transcribe(audio, hint=hint)
        reason = second_opinion_reason(heard, awaiting)
        if reason is None:
            return heard
        # The dealership's words stay the prompt for a number said in passing: base heard "the Sienna on Friday
        # at 4 ..., my number is ..." as "the CNR" with a number for a prompt, and the car is as much of it.
        again = await base_hearing()
    kept = replace(better_decode(heard, again, reason), second_opinion=True)
    if reason == "time" and kept.text != again.text:
        kept = await _hear_the_time_again(fast, audio, kept)
    log.info(
        "stt_second_opinion",
        reason=reason,
        first=heard.text[-80:],
        first_logprob=round(heard.avg_logprob, 2),
        again=again.text[-80:],
        again_logprob=round(again.avg_logprob, 2),
        kept="first" if words_of(kept.text) == words_of(_once(heard.text)) else "again",
        side_by_side=ahead,
    )
    return kept


async def _hear_a_number(
    fast: SpeechToText,
    accurate: SpeechToText,
    audio: npt.NDArray[np.int16],
    hint: str | None,
    side_by_side: bool,
) -> Transcript:
    """A number is the likely answer: base's hearing is kept when it holds a whole one, else tiny.en's (decoding
    beside base when the models are idle, after it otherwise)."""
    async with _decode(fast, audio, hint, begin_now=side_by_side) as tiny_hearing:
        first = with_fives_heard(await accurate.transcribe(audio, hint=hint))
        if holds_a_whole_number(first):
            return replace(first, second_opinion=True)
        heard = with_fives_heard(await tiny_hearing())
    log.info(
        "stt_second_opinion",
        reason="number",
        first=first.text[-80:],
        again=heard.text[-80:],
        kept="again",
        side_by_side=side_by_side,
    )
    return replace(heard, second_opinion=True)


@asynccontextmanager
async def _decode(
    stt: SpeechToText, audio: npt.NDArray[np.int16], hint: str | None, *, begin_now: bool
) -> AsyncIterator[Callable[[], Awaitable[Transcript]]]:
    """A decode that may not be needed: begun now (`begin_now`, the models idle) or only when asked for; one
    begun and not asked for by the end of the block is dropped."""
    begun = asyncio.create_task(stt.transcribe(audio, hint=hint), name="stt-ahead") if begin_now else None

    def hearing() -> Awaitable[Transcript]:
        return begun if begun is not None else stt.transcribe(audio, hint=hint)

    try:
        yield hearing
    finally:
        if begun is not None and not begun.done():
            begun.cancel()


async def _hear_the_time_again(
    fast: SpeechToText, audio: npt.NDArray[np.int16], kept: Transcript
) -> Transcript:
    """Neither model heard the hour: tiny.en once more with times for a prompt, its day and hour spliced in."""
    third = await fast.transcribe(audio, hint=TIME_PROMPT)
    spliced = with_time_heard(kept.text, third.text)
    log.info("stt_time_heard_again", first=kept.text[-80:], third=third.text[-80:], kept=spliced is not None)
    return kept if spliced is None else replace(kept, text=spliced)


async def hear_again(accurate: SpeechToText, turn: UserTurn, hint: str | None) -> str | None:
    """The second model's words for a turn the dialog did not understand, when they differ from what was heard
    (None: already asked, or it heard the same or nothing)."""
    if turn.audio is None or turn.second_opinion:
        return None
    again = await accurate.transcribe(turn.audio, hint=hint)
    differs = words_of(again.text) != words_of(turn.text)
    log.info("stt_heard_again", first=turn.text[-80:], again=again.text[-80:], differs=differs)
    return again.text.strip() if differs and not again.empty and not loops(again.text) else None


_BEFORE_A_NUMBER = frozenset({"is", "it's", "its", "number"})


def with_fives_heard(heard: Transcript) -> Transcript:
    """A number with "five" heard as "bye" or "time" ("Time time time, 014-6161."): those words count as 5 when
    they stand among the number's digits, before more of them, and the number is then whole; else as heard."""
    if parse_phone(heard.text) is not None:
        return heard
    words = list(re.finditer(r"[a-z0-9']+", heard.text, re.IGNORECASE))
    lows = [w.group(0).lower() for w in words]
    fives: set[int] = set()
    for i in range(len(words) - 1, -1, -1):  # from the end: a five leads to digits, or to a five that does
        after = lows[i + 1] if i + 1 < len(lows) else ""
        before = lows[i - 1] if i > 0 else ""
        leads_on = bool(DIGIT_TOKEN.fullmatch(after)) or (i + 1) in fives
        follows = (
            not before or before in FIVE_HEARD_AS | _BEFORE_A_NUMBER or bool(DIGIT_TOKEN.fullmatch(before))
        )
        if lows[i] in FIVE_HEARD_AS and leads_on and follows:
            fives.add(i)
    if not fives:
        return heard
    text = heard.text
    for i in sorted(fives, reverse=True):
        text = text[: words[i].start()] + "five" + text[words[i].end() :]
    if parse_phone(text) is None or is_digit_loop(text):
        return heard
    log.info("stt_fives_heard", words=len(fives))
    return replace(heard, text=text)


def holds_a_whole_number(heard: Transcript) -> bool:
    """Ten clean digits of a phone number, not Whisper looping on them."""
    text = heard.text
    return bool(text) and not loops(text) and not is_digit_loop(text) and parse_phone(text) is not None


def loops(text: str) -> bool:
    """The same phrase three times in a row ("Paul Martin, Paul Martin, Paul Martin, ..."): Whisper looping."""
    phrases = [p.strip().lower() for p in re.split(r"[,.;!?]", text) if p.strip()]
    return any(phrases[i] == phrases[i + 1] == phrases[i + 2] for i in range(len(phrases) - 2))


def _once(text: str) -> str:
    """A hearing as `better_decode` weighs it: a looped one cut to its first phrase."""
    return first_phrase(text) if loops(text) else text


def first_phrase(text: str) -> str:
    """What Whisper said before it began to loop: "Pony Evans, Pony Evans, ..." -> "Pony Evans."."""
    phrase = next((p.strip() for p in re.split(r"[,.;!?]", text) if p.strip()), "")
    return f"{phrase}." if phrase else text


def words_of(text: str) -> list[str]:
    """The words, lower case, without punctuation: two decodes that say the same differ only in commas."""
    return re.findall(r"[a-z0-9']+", text.lower())


async def answer_instead(
    conversations: Conversations, utterance: Utterance, result: TurnResult, heard_again: str | None
) -> tuple[Utterance, TurnResult]:
    """A turn the dialog did not understand, heard again by the more accurate model before the caller is asked
    to repeat: the new words are answered instead when the dialog understands them and the first answer can be
    undone. When it understands neither, the first hearing is answered after all: the fast model hears more
    words right (a real call: "Um, I don't know my number off hand." heard again as "ROM, ... of hand.")."""
    session_id = result.state.session_id
    if not heard_again or await conversations.take_back(session_id, result.turn_id) is None:
        return utterance, result
    again = await conversations.handle_turn(session_id, heard_again)
    understood = again.caught or await conversations.take_back(session_id, again.turn_id) is None
    log.info("turn_heard_again", first=utterance.text[-80:], again=heard_again[-80:], understood=again.caught)
    if understood:
        return replace(utterance, text=heard_again), again
    return utterance, await conversations.handle_turn(session_id, utterance.text)
