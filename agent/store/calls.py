"""The call log: one row per phone call, opened on ring, marked when answered, closed with its outcome."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast, get_args

from agent.log import get_logger
from agent.store.db import Database, Row
from agent.store.models import CallChannel, CallEndedBy, CallRecord, TranscriptLine

log = get_logger(__name__)

CHANNELS: tuple[str, ...] = get_args(CallChannel)
ENDED_BY: tuple[str, ...] = get_args(CallEndedBy)
# The outcomes the call runner is expected to use; others are stored as given (the set is open).
OUTCOMES: tuple[str, ...] = (
    "booked",
    "rescheduled",
    "cancelled",
    "answered_question",
    "transferred",
    "transfer_failed",
    "callback_scheduled",
    "abandoned",
    "refused_busy",
    "error",
)
MAX_OUTCOME_CHARS = 64
MAX_RECENT = 1000

TranscriptInput = Iterable[TranscriptLine | Mapping[str, Any]]


def utc_text(moment: datetime) -> str:
    """A sortable ISO 8601 UTC timestamp with milliseconds ('2027-02-01T14:00:00.000Z'); naive means UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}Z"


def _parse_utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class CallLog:
    """Calls in the `calls` table. Every method is safe to call with an unknown id (it reports False)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(
        self,
        call_id: str,
        channel: CallChannel,
        caller_id: str | None = None,
        started_at: datetime | None = None,
    ) -> None:
        """Open the row for a new call (ringing); a call id seen before is left as it is."""
        if not call_id:
            raise ValueError("call_id must not be empty")
        if channel not in CHANNELS:
            raise ValueError(f"unknown call channel {channel!r}; expected one of {CHANNELS}")
        async with self._db.write() as tx:
            changed = await tx.execute(
                "INSERT INTO calls (call_id, channel, caller_id, started_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (call_id) DO NOTHING",
                (call_id, channel, caller_id, utc_text(started_at or datetime.now(UTC))),
            )
        if not changed:
            log.warning("calls.start_duplicate", call_id=call_id)

    async def answered(self, call_id: str, session_id: str | None, at: datetime | None = None) -> bool:
        """Mark the call answered by a session; the first answer time is kept. False for an unknown call."""
        async with self._db.write() as tx:
            changed = await tx.execute(
                "UPDATE calls SET answered_at = COALESCE(answered_at, ?),"
                " session_id = COALESCE(?, session_id) WHERE call_id = ?",
                (utc_text(at or datetime.now(UTC)), session_id, call_id),
            )
        if not changed:
            log.warning("calls.unknown_call", call_id=call_id, action="answered")
        return changed > 0

    async def finish(
        self,
        call_id: str,
        *,
        outcome: str | None,
        ended_by: CallEndedBy | None,
        transcript: TranscriptInput = (),
        turns: Iterable[Mapping[str, Any]] = (),
        recording_path: str | os.PathLike[str] | None = None,
        transferred_to: str | None = None,
        ended_at: datetime | None = None,
    ) -> bool:
        """Close the call; False for an unknown call id. Never raises for odd values: an unknown `ended_by`
        is stored as None, an over-long outcome is cut, non-finite numbers in `turns` become null.

        Idempotent: a second finish never moves `ended_at` nor overwrites a value already set; it only
        fills what is still empty (say, the recording path once the file is written).
        """
        if ended_by is not None and ended_by not in ENDED_BY:
            log.warning("calls.bad_ended_by", call_id=call_id, ended_by=ended_by)
            ended_by = None
        outcome = (outcome or "").strip()[:MAX_OUTCOME_CHARS] or None
        transcript_json = _dump([_transcript_line(line).to_json() for line in transcript])
        turns_json = _dump([dict(turn) for turn in turns])
        path = None if recording_path is None else os.fspath(recording_path)
        async with self._db.write() as tx:
            changed = await tx.execute(
                "UPDATE calls SET ended_at = COALESCE(ended_at, ?), outcome = COALESCE(outcome, ?),"
                " ended_by = COALESCE(ended_by, ?), transferred_to = COALESCE(transferred_to, ?),"
                " recording_path = COALESCE(recording_path, ?),"
                # the first finish replaces what `progress` wrote during the call (unless it has nothing)
                " transcript_json = CASE WHEN transcript_json = '[]' OR (ended_at IS NULL AND ? <> '[]')"
                " THEN ? ELSE transcript_json END,"
                " turns_json = CASE WHEN turns_json = '[]' OR (ended_at IS NULL AND ? <> '[]')"
                " THEN ? ELSE turns_json END"
                " WHERE call_id = ?",
                (
                    utc_text(ended_at or datetime.now(UTC)),
                    outcome,
                    ended_by,
                    transferred_to,
                    path,
                    transcript_json,
                    transcript_json,
                    turns_json,
                    turns_json,
                    call_id,
                ),
            )
        if not changed:
            log.warning("calls.unknown_call", call_id=call_id, action="finish")
        return changed > 0

    async def progress(
        self, call_id: str, *, transcript: TranscriptInput, turns: Iterable[Mapping[str, Any]]
    ) -> bool:
        """The transcript and turns so far of a call in progress (a process killed mid-call loses only what
        came after); False for an unknown or finished call."""
        transcript_json = _dump([_transcript_line(line).to_json() for line in transcript])
        turns_json = _dump([dict(turn) for turn in turns])
        async with self._db.write() as tx:
            changed = await tx.execute(
                "UPDATE calls SET transcript_json = ?, turns_json = ? WHERE call_id = ? AND ended_at IS NULL",
                (transcript_json, turns_json, call_id),
            )
        return changed > 0

    async def get(self, call_id: str) -> CallRecord | None:
        row = await self._db.fetchone("SELECT * FROM calls WHERE call_id = ?", (call_id,))
        return None if row is None else _record(row)

    async def recent(self, limit: int = 50, offset: int = 0) -> list[CallRecord]:
        """The latest calls first (by start time), a page at a time; at most 1000 per page."""
        if limit <= 0:
            return []
        rows = await self._db.fetchall(
            "SELECT * FROM calls ORDER BY started_at DESC, call_id DESC LIMIT ? OFFSET ?",
            (min(limit, MAX_RECENT), max(offset, 0)),
        )
        return [_record(row) for row in rows]

    async def recordings_before(self, cutoff: datetime) -> list[tuple[str, str]]:
        """(call id, recording path) of the calls started before `cutoff` that still have a recording."""
        rows = await self._db.fetchall(
            "SELECT call_id, recording_path FROM calls WHERE recording_path IS NOT NULL AND started_at < ?",
            (utc_text(cutoff),),
        )
        return [(str(row["call_id"]), str(row["recording_path"])) for row in rows]

    async def forget_recording(self, call_id: str) -> bool:
        """The recording was deleted (retention): the row keeps everything else."""
        async with self._db.write() as tx:
            changed = await tx.execute("UPDATE calls SET recording_path = NULL WHERE call_id = ?", (call_id,))
        return changed > 0

    async def active(self) -> list[CallRecord]:
        """Calls not finished yet, latest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM calls WHERE ended_at IS NULL ORDER BY started_at DESC, call_id DESC"
        )
        return [_record(row) for row in rows]


def _transcript_line(line: TranscriptLine | Mapping[str, Any]) -> TranscriptLine:
    if isinstance(line, TranscriptLine):
        return line
    return TranscriptLine(
        role=str(line.get("role", "")), text=str(line.get("text", "")), at_s=_seconds(line.get("at_s"))
    )


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return seconds if math.isfinite(seconds) else 0.0


def _plain(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars become numbers, NaN and infinities null, unknown objects strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return _plain(item())
    return str(value)


def _dump(value: list[dict[str, Any]]) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, allow_nan=False)


def _load_list(text: str, call_id: str, column: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        log.warning("calls.bad_json", call_id=call_id, column=column)
        return []
    return value


def _record(row: Row) -> CallRecord:
    call_id = str(row["call_id"])
    transcript = tuple(
        _transcript_line(line)
        for line in _load_list(row["transcript_json"], call_id, "transcript_json")
        if isinstance(line, Mapping)
    )
    turns = tuple(
        turn for turn in _load_list(row["turns_json"], call_id, "turns_json") if isinstance(turn, dict)
    )
    started_at = _parse_utc(row["started_at"])
    if started_at is None:  # NOT NULL in the schema
        raise ValueError(f"call {call_id} has no start time")
    return CallRecord(
        call_id=call_id,
        channel=cast(CallChannel, row["channel"]),
        caller_id=row["caller_id"],
        session_id=row["session_id"],
        started_at=started_at,
        answered_at=_parse_utc(row["answered_at"]),
        ended_at=_parse_utc(row["ended_at"]),
        outcome=row["outcome"],
        ended_by=cast(CallEndedBy | None, row["ended_by"]),
        transferred_to=row["transferred_to"],
        recording_path=row["recording_path"],
        transcript=transcript,
        turns=turns,
    )
