"""Answers prepared in the caller's end-of-turn silence: worked out and synthesised, said once the turn is over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agent.calls.continuations import Answered, Continuations, Utterance, same_turn
from agent.calls.events import UserTurn
from agent.calls.speech_out import SpeechHandle
from agent.dialog.conversation import TurnResult
from agent.log import get_logger

log = get_logger(__name__)

Understand = Callable[[UserTurn], Awaitable[tuple[Utterance, TurnResult] | None]]


@dataclass(frozen=True)
class Prepared:
    """A turn's answer, ready before the turn was taken: the dialog's result and its reply, synthesised and held."""

    utterance: Utterance
    result: TurnResult
    handle: SpeechHandle  # held: its first sentence synthesised, nothing played
    work_ms: float  # the dialog and the first sentence's synthesis


class AnswerPreparer:
    """At most one answer in preparation, for the turn the listener expects to take (`TurnLikely`).

    The dialog answers the turn as usual; its reply is synthesised and held. When the same turn is taken it is
    said at once. When the caller goes on instead, it is never said: its dialog turn is remembered unspoken, as
    for a turn the caller went on from, so that the next turn continues it (taken back and answered whole, or,
    when something lasting came of it, said first)."""

    def __init__(
        self, understand: Understand, voice: Callable[[str], SpeechHandle], continuations: Continuations
    ) -> None:
        self._understand = understand
        self._voice = voice  # a held SpeechHandle for a reply
        self._continuations = continuations
        self._turn: UserTurn | None = None
        self._task: asyncio.Task[Prepared | None] | None = None
        # a prepared turn the caller went on from: the next turn continues it
        self.dropped: UserTurn | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None

    def prepare(self, turn: UserTurn) -> None:
        """Work out the answer to `turn` (the dialog, then the first sentence's audio), to be said if it is taken.
        One at a time: one whose words changed (a last look) is dropped before another is prepared."""
        if self._task is not None:
            return
        self._turn = turn
        self._task = asyncio.create_task(self._prepare(turn), name="prepare-answer")

    async def _prepare(self, turn: UserTurn) -> Prepared | None:
        started = time.perf_counter()
        understood = await self._understand(turn)
        if understood is None:
            return None
        utterance, result = understood
        self._continuations.remember(
            Answered(turn, utterance.text, result.turn_id, None, result.state.reply, spoken=False)
        )
        handle = self._voice(f"{utterance.say_first} {result.state.reply}".strip())
        try:
            await handle.wait_ready()
        except asyncio.CancelledError:  # the call is closing: what it synthesised is not held forever
            await handle.interrupt()
            raise
        return Prepared(utterance, result, handle, (time.perf_counter() - started) * 1000)

    def matches(self, turn: UserTurn) -> bool:
        """The preparation in flight is for `turn`: the same words of the same speech."""
        prepared = self._turn  # (its `continues` may be a dropped preparation the caller went on from)
        return prepared is not None and same_turn(prepared, turn)

    def take(self, turn: UserTurn) -> asyncio.Task[Prepared | None] | None:
        """The preparation for `turn`, to be said now; None when there is none for it."""
        if self._task is None or not self.matches(turn):
            return None
        task, self._task, self._turn = self._task, None, None
        return task

    def drop(self, previous: asyncio.Task[None] | None) -> asyncio.Task[None] | None:
        """The caller went on (or said something else): the prepared answer is not said. Returns the task that
        settles it (after `previous`), for the next turn's answer to wait for."""
        task, turn = self._task, self._turn
        if task is None or turn is None:
            return None
        self._task, self._turn, self.dropped = None, None, turn
        log.info("prepared_answer_dropped", caller_text=turn.text[-80:])
        return asyncio.create_task(self._settle(task, previous), name="drop-prepared")

    async def _settle(self, task: asyncio.Task[Prepared | None], previous: asyncio.Task[None] | None) -> None:
        results = await asyncio.gather(task, *([previous] if previous else []), return_exceptions=True)
        if isinstance(results[0], Prepared):
            await results[0].handle.interrupt()

    async def aclose(self) -> None:
        """Stop a preparation in flight and what it synthesised (idempotent)."""
        task, self._task, self._turn = self._task, None, None
        if task is not None:
            task.cancel()
            results = await asyncio.gather(task, return_exceptions=True)
            if isinstance(results[0], Prepared):
                await results[0].handle.interrupt()
