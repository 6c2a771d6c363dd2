"""Coordinator: answers the listener's events; owns what the agent says, notifications, transfer, hold and DTMF."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from agent.calls.continuations import Answered, Continuations, adds_nothing
from agent.calls.events import (
    CallEvent,
    Continuation,
    InterimText,
    SpeechStarted,
    SpeechSustained,
    Tick,
    UserTurn,
)
from agent.calls.handoff import HandoffConfig, HumanHandoff
from agent.calls.io import CallIO
from agent.calls.second_opinion import answer_instead
from agent.calls.speech_out import SpeechHandle
from agent.calls.thinking import acknowledged
from agent.calls.turn_record import BargeIn, TurnRecord
from agent.calls.turn_taking import THINKING_ACK, TurnTakingConfig, is_false_interruption
from agent.dialog.conversation import Conversations, EventSink, TurnResult
from agent.dialog.state import ConversationState
from agent.log import get_logger
from agent.speech.tts import TextToSpeech

log = get_logger(__name__)
# Said when a turn could not be answered (the database or the state store failed): nothing was done, and
# the caller knows to say it again rather than hearing silence.
TURN_FAILED_REPLY = (
    "I'm sorry, our system isn't responding right now, so I couldn't do that yet. "
    "Could you say that again in a moment?"
)


@dataclass
class CallReport:
    """What a call did, for the calls table, operators and QA."""

    turns: list[TurnRecord] = field(default_factory=list)
    barge_ins: list[BargeIn] = field(default_factory=list)
    notifications_spoken: list[str] = field(default_factory=list)
    ended_by_agent: bool = False
    transferred_to: str | None = None
    transfer_failed: bool = False
    continuations_joined: int = 0  # turns answered again as one with what the caller went on to say


def interim_event(session_id: str, text: str) -> dict[str, object]:
    """The console's greyed line of what the caller has said so far."""
    return {"type": "transcript", "session_id": session_id, "role": "user", "content": text, "interim": True}


def turn_record(turn: UserTurn, text: str, result: TurnResult, tts_ms: float) -> TurnRecord:
    """One answered caller turn with its latency per stage."""
    # A live call overlaps STT with the end-of-turn silence: voice-to-voice is whichever is longer.
    heard_ms = max(turn.waited_s * 1000, turn.detect_wait_s * 1000 + turn.stt_ms)
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
        heard_ms + result.processing_ms + tts_ms,
        state.ended,
        result.turn_id,
        state.understood_by,
    )


class Coordinator:
    """One `SpeechHandle` at a time; turns are answered in order, never blocking the listener."""

    def __init__(
        self,
        io: CallIO,
        conversations: Conversations,
        tts: TextToSpeech,
        events: EventSink,
        session_id: str,
        *,
        turns: TurnTakingConfig,
        handoff: HandoffConfig,
        call_over: asyncio.Event,
    ) -> None:
        self._io = io
        self._conversations = conversations
        self._tts = tts
        self._events = events
        self._session_id = session_id
        self._turns = turns
        self._call_over = call_over
        self._handoff = HumanHandoff(io, conversations, session_id, handoff, self.speak)
        self._speaking: SpeechHandle | None = None
        self._interrupted: SpeechHandle | None = None
        self._turn_task: asyncio.Task[None] | None = None
        self._notes_check: asyncio.Task[None] | None = None
        self._escalating = False
        self._quiet_since = 0.0
        self._continuations = Continuations(conversations, session_id)
        self.awaiting: str | None = None  # the booking slot the dialog asked for: the listener is patient
        # The listener's second model, for a turn the dialog did not understand (None: no second model).
        self.hear_again: Callable[[UserTurn], Awaitable[str | None]] | None = None
        self.report = CallReport()

    # What the agent says -----------------------------------------------------------------------------------
    def speak(self, text: str) -> SpeechHandle:
        self._handoff.drop_music()
        self._speaking = SpeechHandle(text, self._io, self._tts).start()
        return self._speaking

    def _agent_talking(self) -> bool:
        return self._speaking is not None and self._speaking.active

    # Events ------------------------------------------------------------------------------------------------
    async def handle(self, event: CallEvent) -> None:
        match event:
            case SpeechStarted():
                await self._handoff.stop_music()
            case SpeechSustained():
                await self._barge_in()
            case InterimText(text=text):
                await self._events.publish(self._session_id, interim_event(self._session_id, text))
            case UserTurn():
                await self._on_turn(event)
            case Continuation(joins=joined):
                await self._on_continuation(joined)
            case Tick(caller_active=active):
                self._on_tick(active)

    async def _barge_in(self) -> None:
        if not self._agent_talking():
            return
        assert self._speaking is not None
        await self._speaking.interrupt()
        self._interrupted = self._speaking
        heard = self._speaking.heard_text()
        self.report.barge_ins.append(BargeIn(self._io.now(), heard))
        log.info("barge_in", heard=heard[-80:])

    async def _on_continuation(self, joined: UserTurn) -> None:
        """The caller goes on from a turn just closed: its answer waits, if not yet begun. One already being said
        stops as any reply does once the caller has spoken over it for the barge-in minimum ("um" does not)."""
        self._continuations.caller_went_on(joined)

    async def _on_turn(self, turn: UserTurn) -> None:
        interrupted, self._interrupted = self._interrupted, None
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
                self.speak(held)
            elif interrupted is not None and self._turns.resume_after_false_interruption:
                log.info("false_interruption_resumed", heard=turn.text)
                if self.report.barge_ins:
                    self.report.barge_ins[-1].resumed = True
                self.speak(interrupted.unheard_text())
            return
        self._queue_answer(turn, interrupted)

    def _queue_answer(self, turn: UserTurn, interrupted: SpeechHandle | None = None) -> None:
        self._turn_task = asyncio.create_task(self._answer(turn, interrupted, self._turn_task), name="turn")

    async def _answer(
        self, turn: UserTurn, interrupted: SpeechHandle | None, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:  # turns are answered in order; never block the listening loop on it
            await asyncio.gather(previous, return_exceptions=True)
        try:
            async with self._io.working():
                utterance = await self._continuations.utterance(turn, self.report.turns)
                # the history keeps what the caller heard of a reply they talked over
                if interrupted is not None and not utterance.joined:
                    await self._conversations.record_heard(self._session_id, interrupted.heard_text())
                if not utterance.text:  # the caller only agreed again with what was just done ...
                    # ... and a reply they talked over while agreeing ("Yes, [the read-back starts] use that
                    # one.") is said again whole: stopping there left the caller in silence.
                    repeated = utterance.say_first or (interrupted.text if interrupted is not None else "")
                    if repeated:
                        self.speak(repeated)
                    return
                turn_done = self._conversations.handle_turn(self._session_id, utterance.text)
                result = await acknowledged(
                    turn_done, self._turns.thinking_ack_after_s, partial(self.speak, THINKING_ACK)
                )
                if not result.caught and self.hear_again is not None:
                    again = await self.hear_again(turn)
                    utterance, result = await answer_instead(self._conversations, utterance, result, again)
        except Exception:  # a store or database failure: the caller hears so, and the call goes on
            log.exception("turn_failed", caller_text=turn.text[:80])
            self.speak(TURN_FAILED_REPLY)
            return
        state = result.state
        self.report.continuations_joined = self._continuations.joined
        self.awaiting = state.booking_slots.awaiting if state.booking_slots.is_active() else None
        if result.revocable and self._continuations.holds(turn):  # the caller is going on: wait for the rest
            self._continuations.remember(
                Answered(turn, utterance.text, result.turn_id, None, state.reply, spoken=False)
            )
            return
        handle = self.speak(f"{utterance.say_first} {state.reply}".strip())
        await handle.wait_first_audio()
        record = turn_record(turn, utterance.text, result, (handle.first_audio_s or 0.0) * 1000)
        self.report.turns.append(record)
        self._continuations.remember(Answered(turn, utterance.text, result.turn_id, record, state.reply))
        await self._events.publish(self._session_id, record.latency_event(self._session_id))
        log.info("voice_turn", **{k: v for k, v in record.__dict__.items() if k.endswith("_ms")})
        self._escalating = state.escalation_in_progress
        if state.ended:
            await handle.wait()
            await self._end_call()
        else:
            await self._maybe_transfer(state, handle)

    async def _end_call(self) -> None:
        self.report.ended_by_agent = True
        self._call_over.set()
        await self._io.hangup()

    # Notifications and the wait for a human ----------------------------------------------------------------
    def _on_tick(self, caller_active: bool) -> None:
        """Every quarter second of call time: speak what background work reported the moment it lands, even if
        the caller is silent (media time, so a virtual-clock replay behaves like a live call)."""
        if self._notes_check is not None and not self._notes_check.done():
            return
        self._notes_check = asyncio.create_task(
            self._check_notifications(caller_active), name="notifications"
        )

    async def _check_notifications(self, caller_active: bool) -> None:
        if (
            self._agent_talking()
            or caller_active
            or (self._turn_task is not None and not self._turn_task.done())
        ):
            self._quiet_since = self._io.now()
            return
        try:
            async with self._io.working():
                await self._deliver_notifications()
        except Exception:  # a store hiccup must not silence the rest of the call
            log.exception("notification_delivery_failed")

    async def _deliver_notifications(self) -> None:
        spoken = await self._conversations.deliver_notifications(self._session_id)
        if spoken:
            self.report.notifications_spoken.extend(spoken)
            handle = self.speak(" ".join(spoken))
            state = await self._conversations.get(self._session_id)
            self._escalating = state.escalation_in_progress
            await self._maybe_transfer(state, handle)
        elif self._escalating:
            self._handoff.maybe_start_music(self._io.now() - self._quiet_since)

    async def _maybe_transfer(self, state: ConversationState, handle: SpeechHandle) -> None:
        if await self._handoff.maybe_transfer(state, handle):
            self.report.transferred_to = self._handoff.transferred_to
            self.report.ended_by_agent = True
            self._call_over.set()
        self.report.transfer_failed = self._handoff.failed

    # The keypad (agent/calls/keypad.py) ------------------------------------------------------------------
    async def keyed_turn(self, text: str) -> None:
        """What the caller typed, answered as if said."""
        if self._agent_talking():
            assert self._speaking is not None
            await self._speaking.interrupt()
        now = self._io.now()
        self._queue_answer(UserTurn(text, now, 0.0, 0.0, 0.0, 0.0))

    async def aclose(self) -> None:
        """Cancel what is in flight and stop speaking (idempotent)."""
        owned = [task for task in (self._notes_check, self._turn_task) if task is not None]
        for task in owned:
            task.cancel()
        if self._speaking is not None:
            await self._speaking.interrupt()
        await asyncio.gather(*owned, return_exceptions=True)
        await self._handoff.aclose()
