"""Double booking under concurrency: the write lock and unique indexes let exactly the capacity through, on a
SQLite file and on PostgreSQL alike (each test runs on both)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.store.catalog import Catalog
from agent.store.db import Database, Reader
from agent.store.models import Appointment, AppointmentKind
from agent.store.scheduling import Scheduling, SlotUnavailable
from agent.store.seed import read_seed_file
from agent.store.slot_rules import SlotRules, Verdict
from tests.store_backends import SEED, StoreTarget

pytestmark = pytest.mark.integration

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=TZ)  # Monday morning
SLOT = datetime(2027, 2, 2, 10, 0, tzinfo=TZ)  # Tuesday at 10


@pytest.fixture
async def db(store_target: StoreTarget) -> AsyncIterator[Database]:
    database = await store_target.open()
    try:
        yield database
    finally:
        await database.aclose()


def split(results: Sequence[Appointment | BaseException]) -> tuple[list[Appointment], list[SlotUnavailable]]:
    booked = [item for item in results if isinstance(item, Appointment)]
    refused = [item for item in results if isinstance(item, SlotUnavailable)]
    unexpected = [item for item in results if not isinstance(item, Appointment | SlotUnavailable)]
    assert not unexpected, unexpected
    return booked, refused


async def book_service(scheduling: Scheduling, customer_id: int) -> Appointment:
    return await scheduling.book(
        kind="service", when=SLOT, customer_id=customer_id, duration_min=45, now=NOW, session_id="s"
    )


async def booked_rows(db: Database) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM appointments"
        " WHERE status = 'booked' AND scheduled_date = ? AND scheduled_time = ?",
        (SLOT.date().isoformat(), SLOT.strftime("%H:%M")),
    )
    assert row is not None
    return int(row[0])


async def test_ten_callers_one_slot_two_bays(db: Database) -> None:
    scheduling = Scheduling(db, TZ)
    results = await asyncio.gather(
        *(book_service(scheduling, 1 + i % 5) for i in range(10)), return_exceptions=True
    )
    booked, refused = split(results)
    assert len(booked) == 2 and len(refused) == 8
    assert {appointment.resource for appointment in booked} == {"bay-1", "bay-2"}
    assert len({appointment.confirmation_code for appointment in booked}) == 2
    for error in refused:
        assert error.availability.reason == "taken"
        assert error.availability.alternatives
        assert SLOT not in error.availability.alternatives
    assert await booked_rows(db) == 2


async def test_two_database_objects_on_one_database_still_give_exactly_the_capacity(
    db: Database, store_target: StoreTarget
) -> None:
    # A second Database on the same data stands in for a second process: its own connections, its own
    # asyncio lock, so only the database's write lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory
    # lock) keeps the two apart. tests/integration/test_two_processes.py does it with real processes.
    other = await store_target.open()
    try:
        first, second = Scheduling(db, TZ), Scheduling(other, TZ)
        results = await asyncio.gather(
            *(book_service(first if i % 2 else second, 1 + i % 5) for i in range(10)),
            return_exceptions=True,
        )
        booked, refused = split(results)
        assert len(booked) == 2 and len(refused) == 8
        assert all(error.availability.alternatives for error in refused)
        assert await booked_rows(db) == 2
        assert await booked_rows(other) == 2
    finally:
        await other.aclose()


async def test_one_car_cannot_be_test_driven_twice_at_once(db: Database) -> None:
    scheduling = Scheduling(db, TZ)
    car = await Catalog(db).get_vehicle_by_stock("T26123")
    other_car = await Catalog(db).get_vehicle_by_stock("H26220")
    assert car is not None and other_car is not None

    async def drive(inventory_id: int, customer_id: int) -> Appointment:
        return await scheduling.book(
            kind="test_drive",
            when=SLOT,
            customer_id=customer_id,
            inventory_id=inventory_id,
            duration_min=30,
            now=NOW,
        )

    results = await asyncio.gather(drive(car.id, 1), drive(car.id, 2), return_exceptions=True)
    booked, refused = split(results)
    assert len(booked) == 1 and len(refused) == 1
    assert refused[0].availability.reason == "taken"
    # The car is free half an hour later, and a second salesperson can still take another car at 10.
    assert refused[0].availability.alternatives[0] in (
        SLOT - timedelta(minutes=30),
        SLOT + timedelta(minutes=30),
    )
    assert (await drive(other_car.id, 3)).resource != booked[0].resource


async def test_a_unique_index_violation_becomes_slot_unavailable(db: Database) -> None:
    class BlindRules(SlotRules):
        """Pretends every slot is free, so only the database's unique index can stop a double booking."""

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
            verdict = await super().evaluate(q, kind, when, inventory_id, now, alternatives, exclude_id)
            return Verdict(verdict.availability, "bay-1")

    blind = Scheduling(db, TZ)
    blind._rules = BlindRules(TZ)
    await book_service(blind, 1)
    with pytest.raises(SlotUnavailable) as caught:
        await book_service(blind, 2)
    assert caught.value.availability.reason == "taken"
    assert await booked_rows(db) == 1


async def test_cancelled_bookings_do_not_hold_the_slot(db: Database) -> None:
    scheduling = Scheduling(db, TZ)
    first = await book_service(scheduling, 1)
    await book_service(scheduling, 2)
    assert await scheduling.cancel(first.confirmation_code) is not None
    results = await asyncio.gather(*(book_service(scheduling, 3) for _ in range(4)), return_exceptions=True)
    booked, refused = split(results)
    assert len(booked) == 1 and len(refused) == 3
    assert booked[0].resource == first.resource


async def test_two_openers_on_a_fresh_database_migrate_and_seed_once(store_target: StoreTarget) -> None:
    seed = read_seed_file(SEED)
    first, second = await asyncio.gather(store_target.open(), store_target.open())
    try:
        for database in (first, second):
            assert len(await Catalog(database).list_inventory()) == len(seed["inventory"])
            assert len(await Catalog(database).list_faq()) == len(seed["faq"])
            customers = await database.fetchone("SELECT COUNT(*) FROM customers")
            assert customers is not None and customers[0] == len(seed["customers"])
    finally:
        await first.aclose()
        await second.aclose()
