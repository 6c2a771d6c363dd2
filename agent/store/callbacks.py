"""Callbacks: the calls a person owes a caller (no human was free), stored in UTC and read in local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from agent.store.db import Database, Row
from agent.store.models import Callback
from agent.store.phone_numbers import normalize_phone


class Callbacks:
    """The callbacks table: who to call back, why, and when."""

    def __init__(self, db: Database, tz: ZoneInfo) -> None:
        self._db = db
        self.tz = tz

    async def schedule(
        self, *, session_id: str, phone: str | None, name: str | None, reason: str, due_at: datetime
    ) -> Callback:
        """Record that a person should call this caller back (stored in UTC, returned in local time)."""
        local = due_at.replace(tzinfo=self.tz) if due_at.tzinfo is None else due_at
        due_utc = local.astimezone(ZoneInfo("UTC"))
        # Keep what the caller said even when it does not parse, so a person can still read it.
        number = normalize_phone(phone) or (phone.strip() if phone and phone.strip() else None)
        async with self._db.write() as tx:
            row_id = await tx.insert(
                "INSERT INTO callbacks (session_id, phone, name, reason, due_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, number, name, reason, due_utc.isoformat(timespec="seconds")),
            )
            row = await tx.fetchall("SELECT * FROM callbacks WHERE id = ?", (row_id,))
        return self._callback(row[0])

    async def list(self) -> list[Callback]:
        """Every callback, earliest due first."""
        rows = await self._db.fetchall("SELECT * FROM callbacks ORDER BY due_at, id")
        return [self._callback(row) for row in rows]

    async def due(self, now: datetime, limit: int = 20) -> tuple[Callback, ...]:
        """Callbacks still to make whose time has come, earliest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM callbacks WHERE status = 'scheduled' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (_utc_text(now), limit),
        )
        return tuple(self._callback(row) for row in rows)

    async def claim(self, callback_id: int) -> bool:
        """Take a due callback to dial it (status done); False when another process took it first."""
        async with self._db.write() as tx:
            changed = await tx.execute(
                "UPDATE callbacks SET status = 'done' WHERE id = ? AND status = 'scheduled'", (callback_id,)
            )
        return changed > 0

    async def reschedule(self, callback_id: int, due_at: datetime) -> None:
        """Put a callback that could not be made back in the queue for `due_at`."""
        async with self._db.write() as tx:
            await tx.execute(
                "UPDATE callbacks SET status = 'scheduled', due_at = ? WHERE id = ?",
                (_utc_text(due_at), callback_id),
            )

    async def cancel(self, callback_id: int) -> None:
        """Give up on a callback (no number to dial, or every attempt failed)."""
        async with self._db.write() as tx:
            await tx.execute("UPDATE callbacks SET status = 'cancelled' WHERE id = ?", (callback_id,))

    def _callback(self, row: Row) -> Callback:
        return Callback(
            id=row["id"],
            session_id=row["session_id"],
            phone=row["phone"],
            name=row["name"],
            reason=row["reason"],
            due_at=datetime.fromisoformat(row["due_at"]).astimezone(self.tz),
            status=row["status"],
        )


def _utc_text(moment: datetime) -> str:
    """How due_at is stored: ISO 8601 in UTC to the second ('2027-02-01T14:00:00+00:00'), so text sorts as time."""
    return moment.astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds")
