"""Booking service visits and test drives: availability, atomic booking, cancel and reschedule."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from agent.store.db import ConstraintViolation, Database, Reader, Row, utc_now_text
from agent.store.models import Appointment, AppointmentKind, Availability
from agent.store.phone_numbers import normalize_phone
from agent.store.slot_rules import DEPARTMENT_OF, SlotRules

# Letters and digits that survive being read out over a phone line: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6
_NOT_CODE = re.compile(r"[^A-Z0-9]")


class SchedulingError(Exception):
    """A booking request that cannot be carried out (unknown customer, vehicle not for sale, ...)."""


class SlotUnavailable(SchedulingError):
    """The asked slot cannot be booked; `availability` says why and offers the nearest free slots."""

    def __init__(self, availability: Availability) -> None:
        super().__init__(f"slot unavailable: {availability.reason}")
        self.availability = availability


class AppointmentNotFound(SchedulingError):
    """No booked appointment has that confirmation code."""


def normalize_code(text: str) -> str:
    """'abc-123 ', 'A B C 1 2 3' -> 'ABC123'."""
    return _NOT_CODE.sub("", text.upper())


class Scheduling:
    """Appointments against a slot calendar; capacity per slot is the number of resources of the kind."""

    def __init__(
        self,
        db: Database,
        tz: ZoneInfo,
        slot_minutes: int = 30,
        horizon_days: int = 60,
        lead_time: timedelta = timedelta(hours=1),
    ) -> None:
        if slot_minutes <= 0 or horizon_days <= 0:
            raise ValueError("slot_minutes and horizon_days must be positive")
        self._db = db
        self.tz = tz
        self._rules = SlotRules(tz, slot_minutes, horizon_days, lead_time)

    async def check_availability(
        self,
        kind: AppointmentKind,
        when: datetime,
        *,
        inventory_id: int | None = None,
        now: datetime | None = None,
        alternatives: int = 3,
    ) -> Availability:
        """Is `when` bookable for `kind` (for a test drive: that car too)? If not, why and what instead."""
        verdict = await self._rules.evaluate(self._db, kind, when, inventory_id, now, alternatives, None)
        return verdict.availability

    async def book(
        self,
        *,
        kind: AppointmentKind,
        when: datetime,
        customer_id: int,
        service_type_id: int | None = None,
        inventory_id: int | None = None,
        vehicle_id: int | None = None,
        duration_min: int,
        notes: str = "",
        session_id: str | None = None,
        now: datetime | None = None,
        contact_name: str | None = None,
        contact_email: str | None = None,
    ) -> Appointment:
        """Book atomically; raise `SlotUnavailable` (with alternatives) when the slot cannot be had.
        `contact_name`/`contact_email`: who the booking is for, when not the customer on file."""
        if kind not in DEPARTMENT_OF:
            raise SchedulingError(f"unknown appointment kind {kind!r}")
        if not 0 < duration_min <= 24 * 60:
            raise SchedulingError(f"duration out of range: {duration_min}")
        try:
            async with self._db.write() as tx:
                await _check_references(tx, kind, customer_id, service_type_id, inventory_id, vehicle_id)
                verdict = await self._rules.evaluate(tx, kind, when, inventory_id, now, 3, None)
                if verdict.resource is None:
                    raise SlotUnavailable(verdict.availability)
                start = self._rules.local(when)
                row_id = await tx.insert(
                    "INSERT INTO appointments (confirmation_code, customer_id, appointment_type,"
                    " service_type_id, inventory_id, vehicle_id, scheduled_date, scheduled_time,"
                    " duration_min, resource, status, notes, session_id, contact_name, contact_email)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?)",
                    (
                        await _unused_code(tx),
                        customer_id,
                        kind,
                        service_type_id,
                        inventory_id,
                        vehicle_id,
                        start.date().isoformat(),
                        start.strftime("%H:%M"),
                        duration_min,
                        verdict.resource,
                        notes,
                        session_id,
                        contact_name,
                        contact_email,
                    ),
                )
                row = await tx.fetchall("SELECT * FROM appointments WHERE id = ?", (row_id,))
        except ConstraintViolation as exc:
            raise await self._lost_race(exc, kind, when, inventory_id, now) from exc
        return _appointment(row[0])

    async def cancel(self, confirmation_code: str, *, phone: str | None = None) -> Appointment | None:
        """Cancel a booked appointment; None when no booked one has that code (and, if given, that phone)."""
        async with self._db.write() as tx:
            row = await _booked_by_code(tx, confirmation_code)
            if row is None:
                return None
            if phone is not None:
                owner = await tx.fetchone("SELECT phone FROM customers WHERE id = ?", (row["customer_id"],))
                if owner is None or normalize_phone(phone) != owner["phone"]:
                    return None
            await tx.execute(
                "UPDATE appointments SET status = 'cancelled', updated_at = ? WHERE id = ?",
                (utc_now_text(), row["id"]),
            )
            updated = await tx.fetchall("SELECT * FROM appointments WHERE id = ?", (row["id"],))
        return _appointment(updated[0])

    async def reschedule(
        self, confirmation_code: str, when: datetime, *, now: datetime | None = None
    ) -> Appointment:
        """Move a booked appointment (same code) in one transaction; on `SlotUnavailable` it stays put."""
        kind: AppointmentKind = "service"
        inventory_id: int | None = None
        try:
            async with self._db.write() as tx:
                row = await _booked_by_code(tx, confirmation_code)
                if row is None:
                    raise AppointmentNotFound(f"no booked appointment with code {confirmation_code!r}")
                kind = cast(AppointmentKind, row["appointment_type"])
                inventory_id = cast(int | None, row["inventory_id"])
                verdict = await self._rules.evaluate(tx, kind, when, inventory_id, now, 3, row["id"])
                if verdict.resource is None:
                    raise SlotUnavailable(verdict.availability)
                start = self._rules.local(when)
                await tx.execute(
                    "UPDATE appointments SET scheduled_date = ?, scheduled_time = ?, resource = ?,"
                    " updated_at = ? WHERE id = ?",
                    (
                        start.date().isoformat(),
                        start.strftime("%H:%M"),
                        verdict.resource,
                        utc_now_text(),
                        row["id"],
                    ),
                )
                updated = await tx.fetchall("SELECT * FROM appointments WHERE id = ?", (row["id"],))
        except ConstraintViolation as exc:
            raise await self._lost_race(exc, kind, when, inventory_id, now) from exc
        return _appointment(updated[0])

    async def find_by_code(self, code: str) -> Appointment | None:
        """The appointment (any status) with this confirmation code, however it was spelled out."""
        row = await self._db.fetchone(
            "SELECT * FROM appointments WHERE confirmation_code = ?", (normalize_code(code),)
        )
        return None if row is None else _appointment(row)

    async def upcoming_for_customer(self, customer_id: int, now: datetime | None = None) -> list[Appointment]:
        """The customer's booked appointments from now on, soonest first."""
        local = self._rules.now(now)
        rows = await self._db.fetchall(
            "SELECT * FROM appointments WHERE customer_id = ? AND status = 'booked'"
            " AND (scheduled_date > ? OR (scheduled_date = ? AND scheduled_time >= ?))"
            " ORDER BY scheduled_date, scheduled_time",
            (customer_id, local.date().isoformat(), local.date().isoformat(), local.strftime("%H:%M")),
        )
        return [_appointment(row) for row in rows]

    async def list_appointments(self, on: date | None = None) -> list[Appointment]:
        """All appointments (any status), optionally on one day, in time order."""
        if on is None:
            rows = await self._db.fetchall(
                "SELECT * FROM appointments ORDER BY scheduled_date, scheduled_time, id"
            )
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM appointments WHERE scheduled_date = ? ORDER BY scheduled_time, id",
                (on.isoformat(),),
            )
        return [_appointment(row) for row in rows]

    # -- internals -------------------------------------------------------------------------------------

    async def _lost_race(
        self,
        exc: ConstraintViolation,
        kind: AppointmentKind,
        when: datetime,
        inventory_id: int | None,
        now: datetime | None,
    ) -> SchedulingError:
        """Turn a unique-index violation (someone else got the slot) into SlotUnavailable."""
        if not exc.unique:
            return SchedulingError(f"booking rejected by the database: {exc}")
        fresh = await self.check_availability(kind, when, inventory_id=inventory_id, now=now)
        return SlotUnavailable(Availability(fresh.requested, False, fresh.alternatives, "taken"))


async def _check_references(
    q: Reader,
    kind: AppointmentKind,
    customer_id: int,
    service_type_id: int | None,
    inventory_id: int | None,
    vehicle_id: int | None,
) -> None:
    if not await q.fetchall("SELECT 1 FROM customers WHERE id = ?", (customer_id,)):
        raise SchedulingError(f"unknown customer {customer_id}")
    if service_type_id is not None and not await q.fetchall(
        "SELECT 1 FROM service_types WHERE id = ?", (service_type_id,)
    ):
        raise SchedulingError(f"unknown service type {service_type_id}")
    if inventory_id is not None:
        if kind != "test_drive":
            raise SchedulingError("only a test drive is booked against an inventory vehicle")
        if not await q.fetchall("SELECT 1 FROM inventory WHERE id = ? AND is_available = 1", (inventory_id,)):
            raise SchedulingError(f"vehicle {inventory_id} is not available for a test drive")
    if vehicle_id is not None and not await q.fetchall(
        "SELECT 1 FROM vehicles WHERE id = ? AND customer_id = ?", (vehicle_id, customer_id)
    ):
        raise SchedulingError(f"vehicle {vehicle_id} does not belong to customer {customer_id}")


async def _booked_by_code(q: Reader, code: str) -> Row | None:
    rows = await q.fetchall(
        "SELECT * FROM appointments WHERE confirmation_code = ? AND status = 'booked'",
        (normalize_code(code),),
    )
    return rows[0] if rows else None


async def _unused_code(q: Reader) -> str:
    # Called under the write lock, so a code checked here cannot be taken before our INSERT.
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not await q.fetchall("SELECT 1 FROM appointments WHERE confirmation_code = ?", (code,)):
            return code


def _appointment(row: Row) -> Appointment:
    return Appointment(
        id=row["id"],
        confirmation_code=row["confirmation_code"],
        customer_id=row["customer_id"],
        appointment_type=row["appointment_type"],
        service_type_id=row["service_type_id"],
        inventory_id=row["inventory_id"],
        vehicle_id=row["vehicle_id"],
        scheduled_date=date.fromisoformat(row["scheduled_date"]),
        scheduled_time=time.fromisoformat(row["scheduled_time"]),
        duration_min=row["duration_min"],
        resource=row["resource"],
        status=row["status"],
        notes=row["notes"],
        session_id=row["session_id"],
        contact_name=row["contact_name"],
        contact_email=row["contact_email"],
    )
