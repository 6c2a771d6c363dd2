"""Availability rules on a real (temporary) SQLite file and a PostgreSQL database, seeded from the fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.store.availability import SlotCalendar
from agent.store.scheduling import Scheduling, SlotUnavailable
from tests.store_backends import StoreTarget

pytestmark = pytest.mark.unit

TZ = ZoneInfo("America/Chicago")
SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"
# Monday 1 February 2027, 8 in the morning: no holidays nearby.
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=TZ)
TUESDAY = date(2027, 2, 2)
SATURDAY = date(2027, 2, 6)
SUNDAY = date(2027, 2, 7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


@pytest.fixture
async def scheduling(store_target: StoreTarget) -> AsyncIterator[Scheduling]:
    db = await store_target.open(SEED)
    try:
        yield Scheduling(db, TZ)
    finally:
        await db.aclose()


async def fill(scheduling: Scheduling, when: datetime, count: int = 2) -> None:
    for _ in range(count):
        await scheduling.book(kind="service", when=when, customer_id=1, duration_min=45, now=NOW)


def test_fixture_dates_are_the_weekdays_the_tests_assume() -> None:
    assert NOW.weekday() == 0 and TUESDAY.weekday() == 1
    assert SATURDAY.weekday() == 5 and SUNDAY.weekday() == 6


async def test_an_open_slot_is_free(scheduling: Scheduling) -> None:
    result = await scheduling.check_availability("service", at(TUESDAY, 10), now=NOW)
    assert result.requested_free and result.reason == "free"
    assert result.requested == at(TUESDAY, 10)


@pytest.mark.parametrize("kind", ["service", "test_drive"])
async def test_sunday_is_closed_and_alternatives_follow(scheduling: Scheduling, kind: str) -> None:
    result = await scheduling.check_availability(kind, at(SUNDAY, 10), now=NOW)  # type: ignore[arg-type]
    assert not result.requested_free and result.reason == "closed"
    assert result.alternatives[0] == at(SUNDAY + timedelta(days=1), 10)
    assert all(slot.weekday() != 6 for slot in result.alternatives)


async def test_hours_depend_on_the_department(scheduling: Scheduling) -> None:
    # Service opens at 7:30, sales at 9; sales stays open until 8 in the evening, service until 6.
    early, late = at(TUESDAY, 7, 30), at(TUESDAY, 19, 30)
    assert (await scheduling.check_availability("service", early, now=NOW)).requested_free
    assert (await scheduling.check_availability("test_drive", early, now=NOW)).reason == "closed"
    assert (await scheduling.check_availability("test_drive", late, now=NOW)).requested_free
    assert (await scheduling.check_availability("service", late, now=NOW)).reason == "closed"


async def test_last_slot_starts_one_slot_before_closing(scheduling: Scheduling) -> None:
    assert (await scheduling.check_availability("service", at(SATURDAY, 13, 30), now=NOW)).requested_free
    closing = await scheduling.check_availability("service", at(SATURDAY, 14), now=NOW)
    assert closing.reason == "closed"
    assert closing.alternatives[0] == at(SATURDAY, 13, 30)


async def test_off_boundary_time_is_refused_with_the_neighbouring_slots(scheduling: Scheduling) -> None:
    result = await scheduling.check_availability("service", at(TUESDAY, 10, 15), now=NOW)
    assert result.reason == "closed"
    assert result.alternatives == (at(TUESDAY, 10), at(TUESDAY, 10, 30), at(TUESDAY, 9, 30))


async def test_holiday_is_closed(scheduling: Scheduling) -> None:
    christmas = datetime(2026, 12, 25, 10, tzinfo=TZ)  # a Friday
    result = await scheduling.check_availability("service", christmas, now=christmas - timedelta(days=3))
    assert result.reason == "closed"
    assert result.alternatives[0] == datetime(2026, 12, 26, 10, tzinfo=TZ)


async def test_past_and_within_lead_time_are_refused(scheduling: Scheduling) -> None:
    yesterday = await scheduling.check_availability("service", NOW - timedelta(days=1), now=NOW)
    assert yesterday.reason == "past"
    too_soon = await scheduling.check_availability("service", at(NOW.date(), 8, 30), now=NOW)
    assert too_soon.reason == "past"
    assert too_soon.alternatives, "a refused slot always comes with something to offer"
    assert all(slot >= NOW + timedelta(hours=1) for slot in too_soon.alternatives)
    assert too_soon.alternatives[0] == at(NOW.date(), 9)


async def test_beyond_the_horizon_is_too_far(scheduling: Scheduling) -> None:
    result = await scheduling.check_availability("service", at(TUESDAY, 10) + timedelta(days=70), now=NOW)
    assert result.reason == "too_far"
    assert result.alternatives
    assert all(slot.date() <= (NOW + timedelta(days=60)).date() for slot in result.alternatives)


async def test_full_slot_offers_nearest_free_slots_first(scheduling: Scheduling) -> None:
    await fill(scheduling, at(TUESDAY, 10))
    result = await scheduling.check_availability("service", at(TUESDAY, 10), now=NOW)
    assert result.reason == "taken" and not result.requested_free
    # Same day, closest first; on a tie the earlier time first.
    assert result.alternatives == (at(TUESDAY, 9, 30), at(TUESDAY, 10, 30), at(TUESDAY, 9))


async def test_alternatives_skip_full_slots(scheduling: Scheduling) -> None:
    for hour, minute in ((9, 30), (10, 0), (10, 30)):
        await fill(scheduling, at(TUESDAY, hour, minute))
    result = await scheduling.check_availability("service", at(TUESDAY, 10), now=NOW, alternatives=4)
    assert result.alternatives == (at(TUESDAY, 9), at(TUESDAY, 11), at(TUESDAY, 8, 30), at(TUESDAY, 11, 30))


async def test_full_day_moves_alternatives_to_the_next_day(scheduling: Scheduling) -> None:
    day = SATURDAY  # service 8:00-14:00: twelve slots
    slot = at(day, 8)
    while slot < at(day, 14):
        await fill(scheduling, slot)
        slot += timedelta(minutes=30)
    result = await scheduling.check_availability("service", at(day, 11), now=NOW)
    assert result.reason == "taken"
    # Sunday is closed, so the next offers are Monday around 11.
    assert result.alternatives == (
        at(day + timedelta(2), 11),
        at(day + timedelta(2), 10, 30),
        at(day + timedelta(2), 11, 30),
    )


async def test_one_booking_leaves_the_second_bay(scheduling: Scheduling) -> None:
    await fill(scheduling, at(TUESDAY, 10), count=1)
    assert (await scheduling.check_availability("service", at(TUESDAY, 10), now=NOW)).requested_free


async def test_times_in_other_zones_and_naive_times_are_local(scheduling: Scheduling) -> None:
    utc_ten_local = at(TUESDAY, 10).astimezone(ZoneInfo("UTC"))
    result = await scheduling.check_availability("service", utc_ten_local, now=NOW)
    assert result.requested_free and result.requested == at(TUESDAY, 10)
    assert result.requested is not None and result.requested.tzinfo == TZ
    naive = await scheduling.check_availability("service", datetime(2027, 2, 2, 10), now=NOW)
    assert naive.requested == at(TUESDAY, 10)


async def test_booking_a_refused_slot_raises_with_alternatives(scheduling: Scheduling) -> None:
    with pytest.raises(SlotUnavailable) as caught:
        await scheduling.book(kind="service", when=at(SUNDAY, 10), customer_id=1, duration_min=45, now=NOW)
    assert caught.value.availability.reason == "closed"
    assert len(caught.value.availability.alternatives) == 3
    assert await scheduling.list_appointments() == []


def test_slot_calendar_cuts_hours_into_slots() -> None:
    calendar = SlotCalendar(
        tz=TZ, hours={1: (time(7, 30), time(9, 0))}, closed_days=frozenset(), slot_minutes=30
    )
    assert calendar.slots_on(TUESDAY) == [at(TUESDAY, 7, 30), at(TUESDAY, 8), at(TUESDAY, 8, 30)]
    assert calendar.slots_on(TUESDAY + timedelta(days=1)) == []
    assert calendar.is_slot(at(TUESDAY, 8))
    assert not calendar.is_slot(at(TUESDAY, 9))
    assert not calendar.is_slot(at(TUESDAY, 8).replace(second=1))
    closed = SlotCalendar(TZ, {1: (time(8), time(9))}, frozenset({TUESDAY}), 30)
    assert closed.slots_on(TUESDAY) == []
