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
