"""A second, more accurate Whisper decode for what the fast model gets wrong most: phone numbers.

Whisper tiny.en is right on most of what callers say and twice as fast as base, but on the caller corpus it
hears "oh one four" as "one one four" (and the number still looks whole), drops a digit or loops on one. Base
hears numbers better and everything else worse (see README, STT), so it is asked about every turn with a phone
number in it, asked for or said in passing, and kept when it heard ten clean digits. The listener also lets it
hear again a turn the dialog did not understand (`Listener.hear_again`) before the caller is asked to repeat.
Names were tried too (base's decode kept when it was surer than tiny.en's): it fixed one name of the corpus
and broke another ("Lisa Moore" -> "Lisa Moa", base 0.6 surer), so it is not done.
"""

from __future__ import annotations

import re
from dataclasses import replace

from agent.calls.continuations import Utterance
from agent.calls.turn_taking import garbled_number, is_digit_loop
from agent.dialog.conversation import Conversations, TurnResult
from agent.dialog.nlu.contacts import parse_phone
from agent.log import get_logger
from agent.speech.stt import Transcript

log = get_logger(__name__)


def wants_second_opinion(heard: Transcript, awaiting: str | None) -> bool:
    """A turn with a phone number in it (asked for one, or one heard in passing), whole or garbled."""
    if heard.empty:
        return False  # silence, noise or Whisper's inventions: nothing a caller said to hear better
    return garbled_number(heard.text, awaiting) or parse_phone(heard.text) is not None


def better_decode(first: Transcript, again: Transcript) -> Transcript:
    """The second decode when it holds a whole phone number (and does not loop), else the first."""
    if again.empty or loops(again.text) or is_digit_loop(again.text) or parse_phone(again.text) is None:
        return first
    return again


def loops(text: str) -> bool:
    """The same phrase three times in a row ("Paul Martin, Paul Martin, Paul Martin, ..."): Whisper looping."""
    phrases = [p.strip().lower() for p in re.split(r"[,.;!?]", text) if p.strip()]
    return any(phrases[i] == phrases[i + 1] == phrases[i + 2] for i in range(len(phrases) - 2))


def words_of(text: str) -> list[str]:
    """The words, lower case, without punctuation: two decodes that say the same differ only in commas."""
    return re.findall(r"[a-z0-9']+", text.lower())


async def answer_instead(
    conversations: Conversations, utterance: Utterance, result: TurnResult, heard_again: str | None
) -> tuple[Utterance, TurnResult]:
    """A turn the dialog did not understand, heard again by the more accurate model before the caller is asked
    to repeat: the new words are answered instead when there are any and the first answer can be undone."""
    session_id = result.state.session_id
    if not heard_again or await conversations.take_back(session_id, result.turn_id) is None:
        return utterance, result
    log.info("turn_heard_again", first=utterance.text[-80:], again=heard_again[-80:])
    return replace(utterance, text=heard_again), await conversations.handle_turn(session_id, heard_again)
