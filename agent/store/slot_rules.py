"""The rules of a bookable slot: lead time, horizon, opening hours, capacity; what is free instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from agent.store.availability import load_calendar, load_occupancy, nearest_free
from agent.store.db import Reader
from agent.store.models import AppointmentKind, Availability

DEPARTMENT_OF: dict[AppointmentKind, str] = {"service": "service", "test_drive": "sales"}
_Refusal = Literal["taken", "closed", "past", "too_far"]


@dataclass(frozen=True, slots=True)
class Verdict:
    availability: Availability
    resource: str | None  # the first free resource for the asked slot, when it is free


@dataclass(frozen=True)
class SlotRules:
    """When a department can be booked, in the dealership's time zone."""

    tz: ZoneInfo
    slot_minutes: int = 30
    horizon_days: int = 60
    lead_time: timedelta = timedelta(hours=1)

    async def evaluate(
        self,
        q: Reader,
        kind: AppointmentKind,
        when: datetime,
        inventory_id: int | None,
        now: datetime | None,
        alternatives: int,
        exclude_id: int | None,
    ) -> Verdict:
        """Is `when` bookable for `kind` (a test drive: that car too)? The free resource, or why not and what
        instead (`exclude_id`: an appointment being moved does not block its own slot)."""
        asked = self.local(when)
        current = self.now(now)
        earliest = current + self.lead_time
        last_day = (current + timedelta(days=self.horizon_days)).date()
        calendar = await load_calendar(q, self.tz, DEPARTMENT_OF[kind], self.slot_minutes)
        occupancy = await load_occupancy(
            q,
            kind,
            inventory_id,
            first_day=min(asked.date(), earliest.date()),
            last_day=max(asked.date(), last_day),
            exclude_id=exclude_id,
        )
        reason: _Refusal
        if asked < earliest:
            reason = "past"
        elif asked.date() > last_day:
            reason = "too_far"
        elif not calendar.is_slot(asked):
            reason = "closed"
        elif occupancy.free_resource(asked) is None:
            reason = "taken"
        else:
            availability = Availability(requested=asked, requested_free=True, alternatives=())
            return Verdict(availability, occupancy.free_resource(asked))
        offered = nearest_free(
            calendar,
            asked,
            earliest=earliest,
            last_day=last_day,
            is_free=lambda slot: occupancy.free_resource(slot) is not None,
            count=alternatives,
        )
        return Verdict(Availability(asked, False, offered, reason), None)

    def local(self, when: datetime) -> datetime:
        """Aware datetime in the dealership's zone; a naive one is taken to be local wall time already."""
        if when.tzinfo is None:
            return when.replace(tzinfo=self.tz)
        return when.astimezone(self.tz)

    def now(self, now: datetime | None) -> datetime:
        return self.local(now) if now is not None else datetime.now(self.tz)
