"""CallRunner: what every transport hands a new call to: record it, run its session, store its outcome."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agent import metrics
from agent.calls.busy import BusyLine
from agent.calls.factory import CallFactory
from agent.calls.io import CallHandler, CallIO, UnansweredCall, UnansweredCallHandler
from agent.calls.recording import RecordingCallIO, recording_file
from agent.calls.session import CallSession
from agent.config import CallSettings
from agent.dialog.state import ConversationState
from agent.log import get_logger
from agent.store.calls import CallLog
from agent.store.models import CallChannel, CallEndedBy

log = get_logger(__name__)

# The EventSink channel operators watch: call_started / call_ended for every call in this process.
OPERATOR_CHANNEL = "operators"
# How often a call in progress has its row brought up to date (only when a turn was answered since).
ROW_UPDATE_EVERY_S = 1.0


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
    busy_line: BusyLine | None = None  # what a caller over a transport's cap hears (None: a plain hang-up)
    _active: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        metrics.watch_tts(self.factory.parts.tts)  # its engine fallbacks, counted at scrape time

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
        keeper: asyncio.Task[None] | None = None
        try:
            # The conversation starts here, so operators learn the session id before the greeting.
            await self._started(io, channel, await session.open(), caller_id)
            keeper = asyncio.create_task(self._keep_row_current(io.call_id, session), name="call-row")
            await session.run()
        except BaseException as exc:
            ended_by = "shutdown"
            if isinstance(exc, Exception):
                metrics.error("call")
            raise
        finally:
            if keeper is not None:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
            if session.ended_by_agent:
                ended_by = "agent"
            elif io.ended_by == "timeout" and ended_by == "caller":
                ended_by = "timeout"
            await self._finish(io, session, recorder, ended_by)
            await self._ended(io, channel, session, ended_by, time.monotonic() - started)
        return session

    def missed_handler(self, channel: CallChannel) -> UnansweredCallHandler:
        async def handle(call: UnansweredCall) -> None:
            await self.missed(call, channel)

        return handle

    def busy_handler(self, channel: CallChannel) -> CallHandler:
        async def handle(io: CallIO) -> None:
            await self.turn_away(io, channel)

        return handle

    async def missed(self, call: UnansweredCall, channel: CallChannel) -> None:
        """A call that rang and was gone before the agent answered (hung up, cancelled, never set up)."""
        await self._record_unanswered(
            call.call_id, channel, call.caller_id, call.rang_at, "missed", call.ended_by
        )
        log.info("call_missed", call_id=call.call_id, ended_by=call.ended_by, reason=call.reason or None)

    async def turn_away(self, io: CallIO, channel: CallChannel) -> None:
        """Every line is busy: the caller hears so, and that we will call back; the call is recorded."""
        rang_at = datetime.now(UTC)
        metrics.call_refused_busy(channel)
        callback = await self.busy_line.turn_away(io) if self.busy_line else None
        if self.busy_line is None:
            await io.hangup()
        await self._record_unanswered(io.call_id, channel, io.caller_id, rang_at, "refused_busy", "agent")
        log.info("call_refused_busy", call_id=io.call_id, callback_id=callback.id if callback else None)

    async def _record_unanswered(
        self,
        call_id: str,
        channel: CallChannel,
        caller_id: str | None,
        rang_at: datetime,
        outcome: str,
        ended_by: CallEndedBy,
    ) -> None:
        metrics.call_ended(channel, outcome, ended_by)
        if self.call_log is None:
            return
        try:
            await self.call_log.start(call_id, channel, caller_id, started_at=rang_at)
            await self.call_log.finish(call_id, outcome=outcome, ended_by=ended_by)
        except Exception:
            metrics.error("call_record")
            log.exception("call_record_not_saved", call_id=call_id)

    async def _keep_row_current(self, call_id: str, session: CallSession) -> None:
        """The call's row as the call goes: answered by its session at once, then its transcript and turns
        after each answered turn, so a process killed mid-call loses at most the turn in progress."""
        if self.call_log is None:
            return
        with contextlib.suppress(Exception):
            await self.call_log.answered(call_id, session.session_id)
        written = 0
        while True:
            await asyncio.sleep(ROW_UPDATE_EVERY_S)
            turns = list(session.turns)
            if len(turns) == written:
                continue
            try:
                state = await self.factory.parts.conversations.get(session.session_id)
                await self.call_log.progress(
                    call_id, transcript=transcript_of(state), turns=[asdict(turn) for turn in turns]
                )
                written = len(turns)
            except Exception as exc:  # the database is away: tried again after the next tick
                log.warning("call_row_progress_not_saved", error=str(exc))

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
        metrics.call_started(channel)
        await self._tell_operators({"type": "call_started", **call})

    async def _ended(
        self, io: CallIO, channel: CallChannel, session: CallSession, ended_by: CallEndedBy, duration_s: float
    ) -> None:
        if self._active.pop(io.call_id, None) is None:
            return  # never started (the session could not be opened): operators never saw it
        metrics.call_finished(channel)
        metrics.call_ended(channel, call_outcome(session), ended_by, [asdict(turn) for turn in session.turns])
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
        if (
            recorder is not None and recorder.recorded_s > 0
        ):  # a browser that never connected: nothing to keep
            try:
                path = await recorder.save(
                    recording_file(self.recording.recordings_path, io.call_id, datetime.now(UTC))
                )
            except OSError:
                metrics.error("recording")
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
                metrics.error("call_record")
                log.exception("call_record_not_saved")
        log.info("call_recorded", outcome=outcome, ended_by=ended_by, recording=str(path) if path else None)
