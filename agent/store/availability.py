"""Slot arithmetic for bookings: the start times a department offers, who holds them, the nearest free."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.store.db import Reader


@dataclass(frozen=True, slots=True)
class SlotCalendar:
    """The bookable start times of one department: its weekly hours cut into fixed slots.

    A slot starts at opening time plus a whole number of slot lengths and must end by closing time, so
    with hours 7:30-18:00 and 30-minute slots the first start is 7:30 and the last is 17:30.
    """

    tz: ZoneInfo
    hours: Mapping[int, tuple[time, time]]
    closed_days: frozenset[date]
    slot_minutes: int

    def slots_on(self, day: date) -> list[datetime]:
        """Every slot start on `day`, in order (none on closed weekdays and holidays)."""
        span = self.hours.get(day.weekday())
        if span is None or day in self.closed_days:
            return []
        opens, closes = (_minutes(part) for part in span)
        starts = range(opens, closes - self.slot_minutes + 1, self.slot_minutes)
        return [datetime.combine(day, time(m // 60, m % 60), tzinfo=self.tz) for m in starts]

    def is_slot(self, when: datetime) -> bool:
        """True when `when` (any zone) is exactly one of the slot starts of its local day."""
        local = when.astimezone(self.tz)
        if local.second or local.microsecond:
            return False
        wall = local.replace(tzinfo=None)
        return any(slot.replace(tzinfo=None) == wall for slot in self.slots_on(local.date()))


@dataclass(frozen=True, slots=True)
class Occupancy:
    """Booked slots of one resource kind (and of one car) over a range of days."""

    resources: tuple[str, ...]
    used: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    car_busy: set[tuple[str, str]] = field(default_factory=set)

    def free_resource(self, slot: datetime) -> str | None:
        """The first resource free at `slot` (by name), or None when the slot or the car is taken."""
        key = (slot.date().isoformat(), slot.strftime("%H:%M"))
        if key in self.car_busy:
            return None
        taken = self.used.get(key, set())
        return next((name for name in self.resources if name not in taken), None)


async def load_calendar(q: Reader, tz: ZoneInfo, department: str, slot_minutes: int) -> SlotCalendar:
    hours = await q.fetchall(
        "SELECT weekday, opens, closes FROM business_hours WHERE department = ?", (department,)
    )
    holidays = await q.fetchall("SELECT day FROM holidays")
    return SlotCalendar(
        tz=tz,
        hours={
            row["weekday"]: (time.fromisoformat(row["opens"]), time.fromisoformat(row["closes"]))
            for row in hours
        },
        closed_days=frozenset(date.fromisoformat(row["day"]) for row in holidays),
        slot_minutes=slot_minutes,
    )


async def load_occupancy(
    q: Reader,
    kind: str,
    inventory_id: int | None,
    *,
    first_day: date,
    last_day: date,
    exclude_id: int | None = None,
) -> Occupancy:
    """Who holds which slot between two days; `exclude_id` leaves out an appointment being moved."""
    names = await q.fetchall("SELECT name FROM resources WHERE kind = ? ORDER BY name", (kind,))
    occupancy = Occupancy(resources=tuple(row["name"] for row in names))
    rows = await q.fetchall(
        "SELECT scheduled_date, scheduled_time, resource, inventory_id FROM appointments"
        " WHERE status = 'booked' AND id IS DISTINCT FROM ? AND scheduled_date BETWEEN ? AND ?"
        " AND (resource IN (SELECT name FROM resources WHERE kind = ?) OR inventory_id = ?)",
        (exclude_id, first_day.isoformat(), last_day.isoformat(), kind, inventory_id),
    )
    for row in rows:
        key = (row["scheduled_date"], row["scheduled_time"])
        occupancy.used.setdefault(key, set()).add(row["resource"])
        if inventory_id is not None and row["inventory_id"] == inventory_id:
            occupancy.car_busy.add(key)
    return occupancy


def nearest_free(
    calendar: SlotCalendar,
    requested: datetime,
    *,
    earliest: datetime,
    last_day: date,
    is_free: Callable[[datetime], bool],
    count: int,
) -> tuple[datetime, ...]:
    """Up to `count` free slots nearest to `requested`, nearest first.

    The requested day comes first (ordered by distance from the requested time, the earlier one first on
    a tie), then the following days up to `last_day` (each ordered by distance from the requested time of
    day), then the days before it, latest first. Nothing before `earliest` is offered.
    """
    if count <= 0:
        return ()
    local = requested.astimezone(calendar.tz)
    target = _minutes(local.time())
    found: list[datetime] = []
    for day in _days_outward(local.date(), earliest.astimezone(calendar.tz).date(), last_day):
        slots = sorted(
            calendar.slots_on(day),
            key=lambda slot: (abs(_minutes(slot.time()) - target), _minutes(slot.time())),
        )
        for slot in slots:
            if slot >= earliest and slot != local and is_free(slot):
                found.append(slot)
                if len(found) == count:
                    return tuple(found)
    return tuple(found)


def _days_outward(anchor: date, first_day: date, last_day: date) -> Iterator[date]:
    """The anchor day (clamped into the window), the days after it, then the days before it."""
    if first_day > last_day:
        return
    anchor = min(max(anchor, first_day), last_day)
    day = anchor
    while day <= last_day:
        yield day
        day += timedelta(days=1)
    day = anchor - timedelta(days=1)
    while day >= first_day:
        yield day
        day -= timedelta(days=1)


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute
