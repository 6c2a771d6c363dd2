"""CallRunner: what every transport hands a new call to: record it, run its session, store its outcome."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agent.calls.factory import CallFactory
from agent.calls.io import CallHandler, CallIO
from agent.calls.recording import RecordingCallIO
from agent.calls.session import CallSession
from agent.config import CallSettings
from agent.dialog.state import ConversationState
from agent.log import get_logger
from agent.store.calls import CallLog
from agent.store.models import CallChannel, CallEndedBy

log = get_logger(__name__)

# The EventSink channel operators watch: call_started / call_ended for every call in this process.
OPERATOR_CHANNEL = "operators"


def call_outcome(session: CallSession) -> str:
    """One word for what the call achieved, for the calls table and the operator view."""
    state = session.final_state
    if session.transferred_to:
        return "transferred"
    if session.transfer_failed:
        return "transfer_failed"
    if state is not None:
        slots = state.booking_slots
        if slots.completed and slots.action is not None:
            return {"book": "booked", "cancel": "cancelled", "reschedule": "rescheduled"}[slots.action]
        if state.human_agent_status == "callback_scheduled":
            return "callback_scheduled"
    return "answered_question" if session.turns else "abandoned"


def transcript_of(state: ConversationState | None) -> list[dict[str, Any]]:
    if state is None:
        return []
    lines: list[dict[str, Any]] = []
    for message in state.messages:
        if isinstance(message, HumanMessage):
            lines.append({"role": "caller", "text": str(message.content), "at_s": None})
        elif isinstance(message, AIMessage):
            lines.append({"role": "agent", "text": str(message.content), "at_s": None})
    return lines


@dataclass
class CallRunner:
    """Shared by every transport; one instance per process, holding no per-call state."""

    factory: CallFactory
    recording: CallSettings
    call_log: CallLog | None = None
    _active: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def active(self) -> list[dict[str, Any]]:
        """Calls running now in this process, oldest first: what an operator page loads before its events."""
        return [dict(call) for call in self._active.values()]

    def handler(self, channel: CallChannel) -> CallHandler:
        async def handle(io: CallIO) -> None:
            await self.run(io, channel)

        return handle

    async def run(self, io: CallIO, channel: CallChannel, *, session_id: str | None = None) -> CallSession:
        """Run one call to its end; the call row and the recording are written whatever happens.
        `session_id`: join that existing session (a browser call from a console chat) instead of a new one."""
        recorder = RecordingCallIO(io) if self.recording.record_calls else None
        session = self.factory.session(recorder or io, session_id=session_id)
        caller_id = io.caller_id or await self._customer_phone(session_id)
        if self.call_log is not None:
            await self.call_log.start(io.call_id, channel, caller_id)
        ended_by: CallEndedBy = "caller"
        started = time.monotonic()
        try:
            # The conversation starts here, so operators learn the session id before the greeting.
            await self._started(io, channel, await session.open(), caller_id)
            await session.run()
        except BaseException:
            ended_by = "shutdown"
            raise
        finally:
            if session.ended_by_agent:
                ended_by = "agent"
            elif io.ended_by == "timeout" and ended_by == "caller":
                ended_by = "timeout"
            await self._finish(io, session, recorder, ended_by)
            await self._ended(io, channel, session, ended_by, time.monotonic() - started)
        return session

    async def _customer_phone(self, session_id: str | None) -> str | None:
        """A browser call has no caller id; the session it joins may know the customer's phone."""
        if session_id is None:
            return None
        try:
            return (await self.factory.parts.conversations.get(session_id)).customer.phone
        except Exception:  # an unknown session fails later, where the call is answered
            return None

    async def _started(
        self, io: CallIO, channel: CallChannel, session_id: str, caller_id: str | None
    ) -> None:
        call = {
            "call_id": io.call_id,
            "session_id": session_id,
            "channel": channel,
            "caller_id": caller_id,
            "started_at": datetime.now(UTC).isoformat(),
        }
        self._active[io.call_id] = call
        await self._tell_operators({"type": "call_started", **call})

    async def _ended(
        self, io: CallIO, channel: CallChannel, session: CallSession, ended_by: CallEndedBy, duration_s: float
    ) -> None:
        if self._active.pop(io.call_id, None) is None:
            return  # never started (the session could not be opened): operators never saw it
        await self._tell_operators(
            {
                "type": "call_ended",
                "call_id": io.call_id,
                "session_id": session.session_id,
                "channel": channel,
                "outcome": call_outcome(session),
                "ended_by": ended_by,
                "duration_s": round(duration_s, 2),
            }
        )

    async def _tell_operators(self, event: dict[str, Any]) -> None:
        try:
            await self.factory.parts.events.publish(OPERATOR_CHANNEL, event)
        except Exception:  # operator views are best effort: a call never fails because of them
            log.exception("operator_event_not_published", event_type=event["type"])

    async def _finish(
        self, io: CallIO, session: CallSession, recorder: RecordingCallIO | None, ended_by: CallEndedBy
    ) -> None:
        path: Path | None = None
        if recorder is not None:
            day = datetime.now(UTC).strftime("%Y-%m-%d")
            try:
                path = await recorder.save(self.recording.recordings_path / day / f"{_safe(io.call_id)}.wav")
            except OSError:
                log.exception("recording_not_saved")
        outcome = call_outcome(session)
        if self.call_log is not None:
            with contextlib.suppress(Exception):
                if session.session_id:
                    await self.call_log.answered(io.call_id, session.session_id)
            try:
                await self.call_log.finish(
                    io.call_id,
                    outcome=outcome,
                    ended_by=ended_by,
                    transcript=transcript_of(session.final_state),
                    turns=[asdict(turn) for turn in session.turns],
                    recording_path=str(path) if path else None,
                    transferred_to=session.transferred_to,
                )
            except Exception:
                log.exception("call_record_not_saved")
        log.info("call_recorded", outcome=outcome, ended_by=ended_by, recording=str(path) if path else None)


def _safe(call_id: str) -> str:
    """A call id as a file name (SIP Call-IDs may hold '@' and other characters)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)[:120] or "call"
