"""Coordinator: answers the listener's events; owns what the agent says, notifications, transfer, hold and DTMF."""

from __future__ import annotations

import asyncio

from agent.calls.answering import TurnAnswers
from agent.calls.events import (
    CallEvent,
    Continuation,
    InterimText,
    SpeechStarted,
    SpeechSustained,
    Tick,
    TurnLikely,
    UserTurn,
)
from agent.calls.handoff import HandoffConfig, HumanHandoff
from agent.calls.io import CallIO
from agent.calls.speech_out import SpeechHandle
from agent.calls.turn_record import BargeIn, CallReport
from agent.calls.turn_taking import TurnTakingConfig
from agent.dialog.conversation import Conversations, EventSink
from agent.dialog.state import ConversationState
from agent.log import get_logger
from agent.speech.tts import TextToSpeech

log = get_logger(__name__)


def interim_event(session_id: str, text: str) -> dict[str, object]:
    """The console's greyed line of what the caller has said so far."""
    return {"type": "transcript", "session_id": session_id, "role": "user", "content": text, "interim": True}


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
        self._notes_check: asyncio.Task[None] | None = None
        self.escalating = False
        self._quiet_since = 0.0
        self.report = CallReport()
        self.answers = TurnAnswers(io, conversations, events, session_id, turns, self, self.report)

    # What the agent says -----------------------------------------------------------------------------------
    def speak(self, text: str) -> SpeechHandle:
        self._handoff.drop_music()
        self._speaking = SpeechHandle(text, self._io, self._tts).start()
        return self._speaking

    def held(self, text: str) -> SpeechHandle:
        """`text` synthesised and held, to be said with `say_held` (an answer prepared in the caller's silence)."""
        return SpeechHandle(text, self._io, self._tts).start(hold=True)

    def say_held(self, handle: SpeechHandle) -> SpeechHandle:
        self._handoff.drop_music()
        self._speaking = handle
        handle.release()
        return handle

    def talking(self) -> bool:
        return self._speaking is not None and self._speaking.active

    async def answered(self, state: ConversationState, handle: SpeechHandle) -> None:
        """A turn's answer is being said: end the call after a goodbye, or hand over to a human."""
        self.escalating = state.escalation_in_progress
        if state.ended:
            await handle.wait()
            await self._end_call()
        else:
            await self._maybe_transfer(state, handle)

    # Events ------------------------------------------------------------------------------------------------
    async def handle(self, event: CallEvent) -> None:
        match event:
            case SpeechStarted():
                self.answers.caller_spoke()
                await self._handoff.stop_music()
            case TurnLikely(turn=turn):
                self.answers.likely(turn)
            case SpeechSustained():
                await self._barge_in()
            case InterimText(text=text):
                await self._events.publish(self._session_id, interim_event(self._session_id, text))
            case UserTurn():
                await self.answers.turn(event)
            case Continuation(joins=joined):
                self.answers.caller_went_on(joined)
            case Tick(caller_active=active):
                self._on_tick(active)

    async def _barge_in(self) -> None:
        if not self.talking():
            return
        assert self._speaking is not None
        await self._speaking.interrupt()
        self.answers.interrupted = self._speaking
        heard = self._speaking.heard_text()
        self.report.barge_ins.append(BargeIn(self._io.now(), heard))
        log.info("barge_in", heard=heard[-80:])

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
        if self.talking() or caller_active or self.answers.busy:
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
            self.escalating = state.escalation_in_progress
            await self._maybe_transfer(state, handle)
        elif self.escalating:
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
        if self.talking():
            assert self._speaking is not None
            await self._speaking.interrupt()
        now = self._io.now()
        self.answers.keyed(UserTurn(text, now, 0.0, 0.0, 0.0, 0.0))

    async def aclose(self) -> None:
        """Cancel what is in flight and stop speaking (idempotent)."""
        if self._notes_check is not None:
            self._notes_check.cancel()
            await asyncio.gather(self._notes_check, return_exceptions=True)
        await self.answers.aclose()
        if self._speaking is not None:
            await self._speaking.interrupt()
        await self._handoff.aclose()
