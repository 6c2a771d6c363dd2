"""Continuations: a caller who goes on after their turn was closed is answered once, for the whole utterance."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace

from agent.calls.events import UserTurn
from agent.calls.turn_record import TurnRecord
from agent.calls.turn_taking import is_affirmation
from agent.dialog.conversation import Conversations
from agent.log import get_logger

log = get_logger(__name__)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def words_after(whole: str, earlier: str) -> str:
    """What `whole` says after the words of `earlier` (Whisper decoded both; a word or two may differ)."""
    before = _words(earlier)
    matched = skipped = cut = 0
    for token in re.finditer(r"[A-Za-z0-9']+", whole):
        if matched == len(before) or skipped > 2:
            break
        if token.group().lower() == before[matched]:
            matched, cut = matched + 1, token.end()
        else:
            skipped += 1
    return whole[cut:].lstrip(" ,.;:!?-") if matched else whole


def same_turn(a: UserTurn, b: UserTurn) -> bool:
    """One caller turn, though maybe two objects: the words of the same speech (the listener's turn, and the copy
    the coordinator answers with `continues` set to a prepared answer's turn the caller went on from)."""
    return a is b or (a.speech_end_s == b.speech_end_s and a.text == b.text)


def adds_nothing(whole: str, earlier: str) -> bool:
    """A continuation that was only a cough or a breath: the whole utterance says what the earlier turn did."""
    return _words(whole) == _words(earlier)


@dataclass(frozen=True)
class Answered:
    """A caller turn the dialog answered: the words it was sent, its id for that turn, what the call recorded."""

    turn: UserTurn
    text: str
    turn_id: str
    record: TurnRecord | None  # what the call recorded of it (None while its answer is held back)
    reply: str
    spoken: bool = True  # False: held back because the caller went on


@dataclass(frozen=True)
class Utterance:
    """What to send the dialog for a turn, and what must be said before its answer."""

    text: str
    joined: bool
    say_first: str = ""  # a held answer to the earlier turn, when that turn could not be taken back


class Continuations:
    """Remembers the last few answered turns, which turns the caller went on from (their answers wait), and
    joins a continuation to the turn it goes on from when the dialog can take that turn back."""

    def __init__(self, conversations: Conversations, session_id: str) -> None:
        self._conversations = conversations
        self._session_id = session_id
        self._answered: deque[Answered] = deque(maxlen=4)
        self._going_on_from: list[UserTurn] = []
        self.joined = 0

    def caller_went_on(self, turn: UserTurn) -> None:
        """A Continuation: answers to `turn` wait for the rest of the utterance."""
        self._going_on_from.append(turn)

    def holds(self, turn: UserTurn) -> bool:
        """True while the caller is going on from `turn`: its answer is not to be spoken yet."""
        return any(same_turn(waiting, turn) for waiting in self._going_on_from)

    def remember(self, answered: Answered) -> None:
        """Keep an answered turn; one answered before (a prepared answer, now said) is replaced."""
        for index, known in enumerate(self._answered):
            if same_turn(known.turn, answered.turn):
                self._answered[index] = answered
                return
        self._answered.append(answered)

    def held_reply(self, turn: UserTurn) -> str | None:
        """The unspoken answer to `turn`, once the caller's continuation of it turned out to be nothing."""
        self._settle(turn)
        earlier = self._find(turn)
        if earlier is not None and not earlier.spoken:
            self._answered[self._answered.index(earlier)] = replace(earlier, spoken=True)
            return earlier.reply
        return None

    async def utterance(self, turn: UserTurn, records: list[TurnRecord]) -> Utterance:
        """The whole utterance in place of the turn it goes on from (taken back from the dialog, its record
        dropped from `records`); or only the new words, after that turn's held answer, when it was lasting."""
        if turn.continues is None:
            return Utterance(turn.text, joined=False)
        self._settle(turn.continues)
        earlier = self._find(turn.continues)
        if earlier is None:
            return Utterance(turn.text, joined=False)
        if await self._conversations.take_back(self._session_id, earlier.turn_id) is None:
            # Something lasting came of it (a booking, a goodbye): it stands, and is said if it was held; a mere
            # "that's correct" after the "yes" that booked it asks for no answer of its own.
            said_first = "" if earlier.spoken else earlier.reply
            new_words = words_after(turn.text, earlier.text)
            if not is_affirmation(new_words):
                return Utterance(new_words, joined=False, say_first=said_first)
            if earlier.record is not None:  # the call's transcript keeps the words no answer was given for
                earlier.record.caller_text = turn.text
            return Utterance("", joined=False, say_first=said_first)
        self._answered.remove(earlier)
        if earlier.record is not None and earlier.record in records:
            records.remove(earlier.record)
        self.joined += 1
        log.info("continuation_joined", earlier=earlier.text[-60:], whole=turn.text[:80])
        return Utterance(turn.text, joined=True)

    def _settle(self, turn: UserTurn) -> None:
        self._going_on_from = [waiting for waiting in self._going_on_from if not same_turn(waiting, turn)]

    def _find(self, turn: UserTurn) -> Answered | None:
        """The answered turn `turn` is, or goes on from (a continuation that added nothing was not answered)."""
        current: UserTurn | None = turn
        while current is not None:
            found = next((answered for answered in self._answered if same_turn(answered.turn, current)), None)
            if found is not None:
                return found
            current = current.continues
        return None
