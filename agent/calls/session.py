"""CallSession: one call's life: open its conversation, greet, let the listener and coordinator run, clean up."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from agent.calls.coordinator import Coordinator
from agent.calls.handoff import HandoffConfig
from agent.calls.io import CallIO
from agent.calls.keypad import read_keypad
from agent.calls.listener import Listener, ListenerConfig
from agent.calls.time_limit import TIME_LIMIT_REPLY, CallTimeLimit
from agent.calls.turn_record import BargeIn, CallReport, TurnRecord
from agent.dialog.conversation import Conversations, EventSink
from agent.dialog.state import ConversationState
from agent.log import bind_ids, get_logger
from agent.speech.stt import SpeechToText
from agent.speech.tts import TextToSpeech

log = get_logger(__name__)
RESUMED_GREETING = "I'm on the line now. How can I help?"


@dataclass(frozen=True)
class CallParts:
    """What every call of a process shares: the dialog, the speech models, the event fan-out."""

    conversations: Conversations
    stt: SpeechToText
    tts: TextToSpeech
    events: EventSink
    second_stt: SpeechToText | None = None  # the second opinion: numbers, unsure names, turns not understood


@dataclass(frozen=True)
class CallConfig:
    """How every call listens and hands over, from the settings (the factory builds it)."""

    listener: ListenerConfig
    handoff: HandoffConfig
    max_call_s: float | None = None  # the call ends politely at this media time (AGENT_MAX_CALL_S)
    recording_notice: str = ""  # said before the greeting (AGENT_RECORDING_NOTICE)


class CallSession:
    """Wires one call: the listener's events go to the coordinator; nothing else talks to either."""

    def __init__(
        self,
        io: CallIO,
        parts: CallParts,
        config: CallConfig,
        *,
        session_id: str | None = None,
        end_session_on_hangup: bool = True,
    ) -> None:
        self.io = io
        self._parts = parts
        self._config = config
        self.session_id = (
            session_id or ""
        )  # preset: the call joins that existing session (the console's chat)
        self._joins_session = session_id is not None
        self.end_session_on_hangup = end_session_on_hangup  # False: the session outlives the call
        self._greeting: str | None = None
        self._awaiting: str | None = None  # what a joined session's booking was waiting for
        self.final_state: ConversationState | None = None
        self._report = CallReport()

    async def open(self) -> str:
        """Start the call's conversation (or join the preset one) and bind the call's ids to its log lines."""
        if self._greeting is None:
            conversations = self._parts.conversations
            if self._joins_session:
                state = await conversations.get(self.session_id)
                self._greeting = state.reply if state.turn_count == 0 else RESUMED_GREETING
            else:
                state = await conversations.start(
                    self.io.caller_id, channel="voice", caller_verified=self.io.caller_verified
                )
                self.session_id = state.session_id
                self._greeting = state.reply
            slots = state.booking_slots
            self._awaiting = slots.awaiting if slots.is_active() else None
            bind_ids(call_id=self.io.call_id, session_id=self.session_id)
        return self.session_id

    async def run(self) -> None:
        """Answer, greet, converse until either side hangs up; always cleans up."""
        await self.open()
        call_over = asyncio.Event()
        coordinator = Coordinator(
            self.io,
            self._parts.conversations,
            self._parts.tts,
            self._parts.events,
            self.session_id,
            turns=self._config.listener.turns,
            handoff=self._config.handoff,
            call_over=call_over,
        )
        coordinator.answers.awaiting = self._awaiting
        self._report = coordinator.report

        async def time_up() -> (
            None
        ):  # whatever was going on stops; the caller hears why, then the line closes
            keypad.cancel()
            await coordinator.aclose()
            await coordinator.speak(TIME_LIMIT_REPLY).wait()
            coordinator.report.ended_by_agent = True
            call_over.set()
            await self.io.hangup()

        time_limit = CallTimeLimit(self.io, self._config.max_call_s, coordinator.handle, time_up)
        listener = Listener(
            self.io,
            self._parts.stt,
            self._config.listener,
            time_limit.handle,
            second_stt=self._parts.second_stt,
            awaiting=lambda: coordinator.answers.awaiting,
            call_over=call_over,
        )
        coordinator.answers.hear_again = listener.hear_again
        log.info("call_answered", caller_id=self.io.caller_id)
        keypad = asyncio.create_task(read_keypad(self.io, coordinator.keyed_turn), name="dtmf")
        try:
            coordinator.speak(f"{self._config.recording_notice} {self._greeting or ''}".strip())
            await listener.run()
        finally:
            keypad.cancel()
            await asyncio.gather(keypad, return_exceptions=True)
            await time_limit.aclose()
            await coordinator.aclose()
            await listener.aclose()
            await self._finish()

    async def _finish(self) -> None:
        conversations = self._parts.conversations
        with contextlib.suppress(Exception):
            self.final_state = await conversations.get(self.session_id)
        if self.end_session_on_hangup:
            with contextlib.suppress(Exception):
                await conversations.end(self.session_id)
        log.info("call_ended", turns=len(self.turns), ended_by_agent=self.ended_by_agent)

    # What the call did ---------------------------------------------------------------------------------
    @property
    def report(self) -> CallReport:
        return self._report

    @property
    def turns(self) -> list[TurnRecord]:
        return self._report.turns

    @property
    def barge_ins(self) -> list[BargeIn]:
        return self._report.barge_ins

    @property
    def notifications_spoken(self) -> list[str]:
        return self._report.notifications_spoken

    @property
    def ended_by_agent(self) -> bool:
        return self._report.ended_by_agent

    @property
    def transferred_to(self) -> str | None:
        return self._report.transferred_to

    @property
    def transfer_failed(self) -> bool:
        return self._report.transfer_failed
