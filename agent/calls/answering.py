"""Answering the caller's turns in order: continuations joined, answers prepared in the silence, latency kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Protocol

from agent.calls.continuations import Answered, Continuations, Utterance, adds_nothing
from agent.calls.events import UserTurn
from agent.calls.io import CallIO
from agent.calls.prepared import AnswerPreparer, Prepared
from agent.calls.second_opinion import answer_instead
from agent.calls.speech_out import SpeechHandle
from agent.calls.thinking import acknowledged
from agent.calls.turn_record import CallReport, TurnRecord
from agent.calls.turn_taking import THINKING_ACK, TurnTakingConfig, is_false_interruption
from agent.dialog.conversation import Conversations, EventSink, TurnResult
from agent.dialog.nlu.confirmations import parse_yes_no
from agent.dialog.state import ConversationState
from agent.log import get_logger

log = get_logger(__name__)
# Said when a turn could not be answered (the database or the state store failed): nothing was done, and
# the caller knows to say it again rather than hearing silence.
TURN_FAILED_REPLY = (
    "I'm sorry, our system isn't responding right now, so I couldn't do that yet. "
    "Could you say that again in a moment?"
)


class Voice(Protocol):
    """What answering needs of the coordinator, which owns what the agent says."""

    escalating: bool  # a human is being asked for: the call's next words may be theirs

    def speak(self, text: str) -> SpeechHandle: ...

    def held(self, text: str) -> SpeechHandle: ...

    def say_held(self, handle: SpeechHandle) -> SpeechHandle: ...

    def talking(self) -> bool: ...

    async def answered(self, state: ConversationState, handle: SpeechHandle) -> None: ...


def turn_record(
    turn: UserTurn, text: str, result: TurnResult, tts_ms: float, prepared: Prepared | None = None
) -> TurnRecord:
    """One answered caller turn with its latency per stage. `tts_ms`: to the first audio once it was asked for
    (a prepared answer: once it was released)."""
    # A live call overlaps STT with the end-of-turn silence: voice-to-voice is whichever is longer ...
    decoded_ms = turn.detect_wait_s * 1000 + turn.stt_ms
    voice_to_voice_ms = max(turn.waited_s * 1000, decoded_ms) + result.processing_ms + tts_ms
    if prepared is not None:  # ... and a prepared answer's dialog and synthesis with it too
        voice_to_voice_ms = max(turn.waited_s * 1000, decoded_ms + prepared.work_ms) + tts_ms
        tts_ms += (prepared.handle.ready_s or 0.0) * 1000
    state = result.state
    return TurnRecord(
        text,
        state.reply,
        state.current_agent,
        turn.speech_end_s,
        turn.waited_s * 1000,
        turn.stt_ms,
        result.processing_ms,
        tts_ms,
        voice_to_voice_ms,
        state.ended,
        result.turn_id,
        state.understood_by,
    )


class TurnAnswers:
    """Turns are answered one after another in a chain of tasks, never blocking the listener; a turn that sounds
    finished has its answer prepared while the end-of-turn silence runs."""

    def __init__(
        self,
        io: CallIO,
        conversations: Conversations,
        events: EventSink,
        session_id: str,
        turns: TurnTakingConfig,
        voice: Voice,
        report: CallReport,
    ) -> None:
        self._io = io
        self._conversations = conversations
        self._events = events
        self._session_id = session_id
        self._turns = turns
        self._voice = voice
        self._report = report
        self._task: asyncio.Task[None] | None = None
        self._continuations = Continuations(conversations, session_id)
        self._preparer = AnswerPreparer(
            partial(self._understand, preparing=True), voice.held, self._continuations
        )
        self.interrupted: SpeechHandle | None = None  # the reply the caller talked over, until their turn
        self.awaiting: str | None = None  # the booking slot the dialog asked for: the listener is patient
        # The listener's second model, for a turn the dialog did not understand (None: no second model).
        self.hear_again: Callable[[UserTurn], Awaitable[str | None]] | None = None

    @property
    def busy(self) -> bool:
        """A turn is being answered."""
        return self._task is not None and not self._task.done()

    def caller_went_on(self, turn: UserTurn) -> None:
        """The caller goes on from a turn just closed: its answer waits, if not yet begun. One already being said
        stops as any reply does once the caller has spoken over it for the barge-in minimum ("um" does not)."""
        self._continuations.caller_went_on(turn)

    def likely(self, turn: UserTurn) -> None:
        """Prepare the answer while the end-of-turn silence runs, when nothing else is under way. A turn that goes
        on from a dropped preparation is prepared whole (that one taken back first, as for any continuation)."""
        if self._preparer.busy and not self._preparer.matches(turn):
            self.caller_spoke()  # a last look heard other words
        elif not self._preparer.busy and self._may_prepare(turn):
            dropped, self._preparer.dropped = self._preparer.dropped, None
            self._preparer.prepare(turn if dropped is None else replace(turn, continues=dropped))

    def _may_prepare(self, turn: UserTurn) -> bool:
        """Not while anything else is under way, and never a yes to a read-back: it books (or cancels), and the
        caller may yet say "... but make it 3". A slow (LLM) brain answers in seconds, not in the silence."""
        return (
            self._turns.prepare_answers
            and self._turns.thinking_ack_after_s is None
            and self.interrupted is None
            and not self._voice.talking()
            and not self._voice.escalating
            and not self.busy
            and not (self.awaiting == "confirm" and parse_yes_no(turn.text, asked=True) == "yes")
            # a cough after a turn adds nothing: that turn's answer stands
            and not (turn.continues is not None and adds_nothing(turn.text, turn.continues.text))
        )

    def caller_spoke(self) -> None:
        """The caller speaks again: an answer prepared for their last words is not said."""
        settling = self._preparer.drop(self._task)
        if settling is not None:
            self._task = settling
            self._report.prepared_unsaid += 1

    async def turn(self, turn: UserTurn) -> None:
        """A turn the listener took: its prepared answer said, or a cough ignored, or it is answered in order."""
        preparing = self._preparer.take(turn)
        if preparing is not None:
            self._task = asyncio.create_task(self._say_prepared(turn, preparing, self._task), name="turn")
            return
        self.caller_spoke()
        dropped, self._preparer.dropped = self._preparer.dropped, None
        if (
            dropped is not None
        ):  # the caller went on from a prepared answer's turn (itself maybe a continuation)
            turn = replace(turn, continues=dropped)
        interrupted, self.interrupted = self.interrupted, None
        earlier = turn.continues
        if (
            not turn.text
            or (earlier is not None and adds_nothing(turn.text, earlier.text))
            or (
                interrupted is not None
                and earlier is None
                and is_false_interruption(turn.text, turn.speech_s, avg_logprob=turn.avg_logprob)
            )
        ):
            held = self._continuations.held_reply(turn.continues) if turn.continues is not None else None
            if held is not None:  # a cough right after the turn: its answer stands
                self._voice.speak(held)
            elif interrupted is not None and self._turns.resume_after_false_interruption:
                log.info("false_interruption_resumed", heard=turn.text)
                if self._report.barge_ins:
                    self._report.barge_ins[-1].resumed = True
                self._voice.speak(interrupted.unheard_text())
            return
        self.queue(turn, interrupted)

    def keyed(self, turn: UserTurn) -> None:
        """What the caller typed on the keypad, answered as if said (a prepared answer's words stand unsaid)."""
        self.caller_spoke()
        self._preparer.dropped = None
        self.queue(turn)

    def queue(self, turn: UserTurn, interrupted: SpeechHandle | None = None) -> None:
        self._task = asyncio.create_task(self._answer(turn, interrupted, self._task), name="turn")

    async def _answer(
        self, turn: UserTurn, interrupted: SpeechHandle | None, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:  # turns are answered in order; never block the listening loop on it
            await asyncio.gather(previous, return_exceptions=True)
        understood = await self._understand(turn, interrupted)
        if understood is not None:
            await self._say(turn, *understood)

    async def _say_prepared(
        self, turn: UserTurn, preparing: asyncio.Task[Prepared | None], previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        prepared = (await asyncio.gather(preparing, return_exceptions=True))[0]
        if not isinstance(prepared, Prepared):  # the dialog failed while preparing: answered the usual way
            await self._answer(turn, None, None)
            return
        self._report.answers_prepared += 1
        await self._say(turn, prepared.utterance, prepared.result, prepared)

    async def _understand(
        self, turn: UserTurn, interrupted: SpeechHandle | None = None, *, preparing: bool = False
    ) -> tuple[Utterance, TurnResult] | None:
        """What to answer: the dialog's result for the turn (a continuation: for the whole utterance). None when
        nothing is to be answered, or the turn failed (said so, unless only preparing)."""
        speak = self._voice.speak
        try:
            async with self._io.working():
                utterance = await self._continuations.utterance(turn, self._report.turns)
                # the history keeps what the caller heard of a reply they talked over
                if interrupted is not None and not utterance.joined:
                    await self._conversations.record_heard(self._session_id, interrupted.heard_text())
                if not utterance.text:  # the caller only agreed again with what was just done ...
                    # ... and a reply they talked over while agreeing ("Yes, [the read-back starts] use that
                    # one.") is said again whole: stopping there left the caller in silence.
                    repeated = utterance.say_first or (interrupted.text if interrupted is not None else "")
                    if repeated:
                        speak(repeated)
                    return None
                turn_done = self._conversations.handle_turn(self._session_id, utterance.text)
                ack_after = None if preparing else self._turns.thinking_ack_after_s
                result = await acknowledged(turn_done, ack_after, partial(speak, THINKING_ACK))
                if not result.caught and self.hear_again is not None:
                    again = await self.hear_again(turn)
                    utterance, result = await answer_instead(self._conversations, utterance, result, again)
        except Exception:  # a store or database failure: the caller hears so, and the call goes on
            log.exception("turn_failed", caller_text=turn.text[:80], preparing=preparing)
            if not preparing:
                speak(TURN_FAILED_REPLY)
            return None
        return utterance, result

    async def _say(
        self, turn: UserTurn, utterance: Utterance, result: TurnResult, prepared: Prepared | None = None
    ) -> None:
        state = result.state
        self._report.continuations_joined = self._continuations.joined
        self.awaiting = state.booking_slots.awaiting if state.booking_slots.is_active() else None
        if result.revocable and self._continuations.holds(turn):  # the caller is going on: wait for the rest
            if prepared is not None:
                await prepared.handle.interrupt()
            self._continuations.remember(
                Answered(turn, utterance.text, result.turn_id, None, state.reply, spoken=False)
            )
            return
        if prepared is None:
            handle = self._voice.speak(f"{utterance.say_first} {state.reply}".strip())
        else:
            handle = self._voice.say_held(prepared.handle)
        await handle.wait_first_audio()
        record = turn_record(turn, utterance.text, result, (handle.first_audio_s or 0.0) * 1000, prepared)
        self._report.turns.append(record)
        self._continuations.remember(Answered(turn, utterance.text, result.turn_id, record, state.reply))
        await self._events.publish(self._session_id, record.latency_event(self._session_id))
        figures = {name: value for name, value in record.__dict__.items() if name.endswith("_ms")}
        log.info("voice_turn", prepared=prepared is not None, **figures)
        await self._voice.answered(state, handle)

    async def aclose(self) -> None:
        """Cancel the turn being answered and an answer being prepared (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._preparer.aclose()
