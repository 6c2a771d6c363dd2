"""The data layer end to end on a SQLite file and on PostgreSQL: migrations, reopening, repositories and hostile
input (each test runs on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.store.backends import open_database_at
from agent.store.callbacks import Callbacks
from agent.store.catalog import Catalog
from agent.store.customers import Customers, InvalidCustomerData
from agent.store.db import Database, DatabaseClosed
from agent.store.phone_numbers import InvalidPhoneNumber
from agent.store.scheduling import AppointmentNotFound, Scheduling, SchedulingError, SlotUnavailable
from agent.store.schema import MIGRATIONS
from agent.store.schema_postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from tests.store_backends import READ_ONLY_ERRORS, StoreTarget, schema_version

pytestmark = pytest.mark.integration

TZ = ZoneInfo("America/Chicago")
SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=TZ)  # Monday morning
TUESDAY_10 = datetime(2027, 2, 2, 10, 0, tzinfo=TZ)
HOSTILE = "Robert'); DROP TABLE appointments; --"


@pytest.fixture
async def db(store_target: StoreTarget) -> AsyncIterator[Database]:
    database = await store_target.open()
    try:
        yield database
    finally:
        await database.aclose()


async def count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def test_open_creates_the_folder_and_a_wal_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "dealership.db"
    database = await open_database_at(path, SEED)
    try:
        assert path.exists()
        mode = await database.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
    finally:
        await database.aclose()


async def test_a_closed_database_says_so(store_target: StoreTarget) -> None:
    database = await store_target.open()
    try:
        assert await database.healthy()
        assert await schema_version(database) == len(MIGRATIONS) == len(POSTGRES_MIGRATIONS)
    finally:
        await database.aclose()
    await database.aclose()  # idempotent
    assert not await database.healthy()
    with pytest.raises(DatabaseClosed):
        await database.fetchall("SELECT 1")
    with pytest.raises(DatabaseClosed):
        async with database.write():
            pass


async def test_reopening_keeps_data_and_does_not_reseed(store_target: StoreTarget) -> None:
    first = await store_target.open()
    services = await count(first, "service_types")
    appointment = await Scheduling(first, TZ).book(
        kind="service", when=TUESDAY_10, customer_id=1, duration_min=45, now=NOW
    )
    async with first.write() as tx:
        await tx.execute("DELETE FROM inventory WHERE stock_number = ?", ("T26101",))
    inventory = await count(first, "inventory")
    await first.aclose()

    second = await store_target.open()
    try:
        assert await count(second, "service_types") == services
        assert await count(second, "inventory") == inventory  # the deleted car is not seeded back
        assert await Catalog(second).get_vehicle_by_stock("T26101") is None
        found = await Scheduling(second, TZ).find_by_code(appointment.confirmation_code)
        assert found == appointment
        assert await schema_version(second) == len(MIGRATIONS)
    finally:
        await second.aclose()


async def test_reads_see_committed_writes_and_failed_writes_leave_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as tx:
            await tx.execute("DELETE FROM faq")
            raise RuntimeError("changed my mind")
    assert await count(db, "faq") >= 28
    async with db.write() as tx:
        await tx.execute("UPDATE faq SET answer = ? WHERE id = 1", ("Changed.",))
    row = await db.fetchone("SELECT answer FROM faq WHERE id = 1")
    assert row is not None and row["answer"] == "Changed."


async def test_the_read_path_cannot_write(db: Database) -> None:
    with pytest.raises(READ_ONLY_ERRORS):
        await db.fetchall("DELETE FROM faq")
    assert await count(db, "faq") >= 28


async def test_hostile_text_in_searches_matches_nothing_and_harms_nothing(db: Database) -> None:
    catalog = Catalog(db)
    assert await catalog.search_inventory(make=HOSTILE) == []
    assert await catalog.search_inventory(model="Camry' OR '1'='1") == []
    assert await catalog.search_inventory(color="%") == []
    assert await catalog.search_inventory(color="_") == []
    assert await catalog.search_inventory(model="%") == []
    assert await catalog.search_inventory(body_style="'; --") == []
    assert await catalog.get_vehicle_by_stock(HOSTILE) is None
    assert await count(db, "appointments") == 0
    assert await count(db, "inventory") >= 32


async def test_hostile_names_and_notes_are_stored_verbatim(db: Database) -> None:
    customers = Customers(db)
    customer = await customers.upsert("+1 555 019 0001", name=HOSTILE, email="bobby@example.com")
    assert customer.name == HOSTILE
    appointment = await Scheduling(db, TZ).book(
        kind="service", when=TUESDAY_10, customer_id=customer.id, duration_min=45, notes=HOSTILE, now=NOW
    )
    assert appointment.notes == HOSTILE
    again = await customers.get_by_phone("5550190001")
    assert again is not None and again.name == HOSTILE
    assert await count(db, "appointments") == 1


async def test_inventory_search_filters(db: Database) -> None:
    catalog = Catalog(db)
    crvs = await catalog.search_inventory(model="crv", limit=10)
    assert crvs and all(car.model.startswith("CR-V") for car in crvs)
    assert [car.price for car in crvs] == sorted(car.price for car in crvs)
    chevys = await catalog.search_inventory(make="chevy", limit=10)
    assert chevys and {car.make for car in chevys} == {"Chevrolet"}
    cheap_used = await catalog.search_inventory(is_new=False, max_price=20000, limit=50)
    assert cheap_used and all(not car.is_new and car.price <= 20000 for car in cheap_used)
    grey_suvs = await catalog.search_inventory(color="grey", body_style="SUV", min_year=2020, limit=50)
    assert grey_suvs and all("gray" in car.color.lower() and car.year >= 2020 for car in grey_suvs)
    pickups = await catalog.search_inventory(body_style="pickup", limit=50)
    assert pickups and {car.body_style for car in pickups} == {"truck"}
    assert len(await catalog.search_inventory(limit=3)) == 3
    sold = await catalog.get_vehicle_by_stock("t 26156")
    assert sold is not None and not sold.is_available
    assert sold not in await catalog.search_inventory(model="prius")
    assert sold in await catalog.search_inventory(model="prius", available_only=False)


async def test_catalog_reads(db: Database) -> None:
    catalog = Catalog(db)
    services = await catalog.list_services()
    oil = next(service for service in services if service.name == "Oil change")
    assert "lube oil filter" in oil.aliases
    assert await catalog.get_service(oil.id) == oil
    assert await catalog.get_service(10_000) is None
    vehicle = await catalog.get_vehicle_by_stock("T26123")
    assert vehicle is not None and await catalog.get_vehicle(vehicle.id) == vehicle
    service_hours = await catalog.opening_hours("service")
    assert [row.weekday for row in service_hours] == [0, 1, 2, 3, 4, 5]
    assert service_hours[0].opens == time(7, 30) and service_hours[5].closes == time(14, 0)
    assert date(2026, 12, 25) in {holiday.day for holiday in await catalog.holidays()}


@pytest.mark.parametrize("spelling", ["+1 (555) 014-2233", "5550142233", "15550142233", "555.014.2233"])
async def test_customer_lookup_by_any_spelling(db: Database, spelling: str) -> None:
    customer = await Customers(db).get_by_phone(spelling)
    assert customer is not None and customer.name == "Maria Gonzalez"
    assert customer.vehicles and customer.vehicles[0].model == "CR-V"


async def test_customer_upsert_creates_then_fills_in(db: Database) -> None:
    customers = Customers(db)
    assert await customers.get_by_phone("not a number") is None
    created = await customers.upsert("(555) 019-4242")
    assert created.phone == "+15550194242" and created.name is None
    named = await customers.upsert("5550194242", name="  Ana   Lima ")
    assert named.id == created.id and named.name == "Ana Lima"
    emailed = await customers.upsert("+15550194242", email="Ana.Lima@Example.com")
    assert emailed.name == "Ana Lima" and emailed.email == "ana.lima@example.com"
    # Whoever gives a known number is not thereby that customer: a stored name or e-mail is never replaced
    # (issue 16, finding 3); the booking keeps what that caller said (`contact_name`).
    other = await customers.upsert("5550194242", name="Bob Stone", email="bob@example.com")
    assert (other.id, other.name, other.email) == (created.id, "Ana Lima", "ana.lima@example.com")
    assert await customers.get(created.id) == other
    car = await customers.add_vehicle(
        created.id, make="Honda", model="Fit", year=2015, license_plate="abc 123"
    )
    refreshed = await customers.get(created.id)
    assert refreshed is not None and refreshed.vehicles == (car,)
    with pytest.raises(InvalidPhoneNumber):
        await customers.upsert("12")
    with pytest.raises(InvalidCustomerData):
        await customers.upsert("5550194242", email="not-an-email")


async def test_cancel_checks_the_phone_and_frees_the_slot(db: Database) -> None:
    scheduling = Scheduling(db, TZ)
    booked = await scheduling.book(kind="service", when=TUESDAY_10, customer_id=1, duration_min=45, now=NOW)
    await scheduling.book(kind="service", when=TUESDAY_10, customer_id=2, duration_min=45, now=NOW)
    assert await scheduling.cancel(booked.confirmation_code, phone="555 019 9999") is None
    assert await scheduling.cancel("ZZZZZZ") is None
    cancelled = await scheduling.cancel(booked.confirmation_code.lower(), phone="+1 (555) 014-2233")
    assert cancelled is not None and cancelled.status == "cancelled"
    assert await scheduling.cancel(booked.confirmation_code) is None  # already cancelled
    assert (await scheduling.check_availability("service", TUESDAY_10, now=NOW)).requested_free


async def test_reschedule_moves_atomically_and_keeps_the_code(db: Database) -> None:
    scheduling = Scheduling(db, TZ)
    mine = await scheduling.book(kind="service", when=TUESDAY_10, customer_id=1, duration_min=45, now=NOW)
    later = TUESDAY_10 + timedelta(hours=2)
    for customer_id in (2, 3):
        await scheduling.book(kind="service", when=later, customer_id=customer_id, duration_min=45, now=NOW)
    with pytest.raises(SlotUnavailable) as caught:
        await scheduling.reschedule(mine.confirmation_code, later, now=NOW)
    assert caught.value.availability.alternatives
    assert await scheduling.find_by_code(mine.confirmation_code) == mine  # untouched
    moved = await scheduling.reschedule(
        f" {mine.confirmation_code[:3]}-{mine.confirmation_code[3:]} ", later + timedelta(hours=1), now=NOW
    )
    assert moved.confirmation_code == mine.confirmation_code
    assert (moved.scheduled_date, moved.scheduled_time) == (date(2027, 2, 2), time(13, 0))
    assert (await scheduling.check_availability("service", TUESDAY_10, now=NOW)).requested_free
    with pytest.raises(AppointmentNotFound):
        await scheduling.reschedule("NOPE00", later, now=NOW)


async def test_upcoming_and_listing(db: Database) -> None:
    scheduling = Scheduling(db, TZ)
    second = await scheduling.book(
        kind="service", when=TUESDAY_10 + timedelta(days=1), customer_id=1, duration_min=45, now=NOW
    )
    first = await scheduling.book(kind="service", when=TUESDAY_10, customer_id=1, duration_min=45, now=NOW)
    await scheduling.book(kind="service", when=TUESDAY_10, customer_id=2, duration_min=45, now=NOW)
    assert await scheduling.upcoming_for_customer(1, now=NOW) == [first, second]
    assert await scheduling.upcoming_for_customer(1, now=TUESDAY_10 + timedelta(minutes=1)) == [second]
    assert len(await scheduling.list_appointments()) == 3
    assert [a.customer_id for a in await scheduling.list_appointments(on=TUESDAY_10.date())] == [1, 2]


async def test_booking_rejects_bad_references(db: Database) -> None:
    scheduling = Scheduling(db, TZ)
    sold = await Catalog(db).get_vehicle_by_stock("T26156")
    assert sold is not None
    with pytest.raises(SchedulingError, match="unknown customer"):
        await scheduling.book(kind="service", when=TUESDAY_10, customer_id=999, duration_min=45, now=NOW)
    with pytest.raises(SchedulingError, match="not available"):
        await scheduling.book(
            kind="test_drive", when=TUESDAY_10, customer_id=1, inventory_id=sold.id, duration_min=30, now=NOW
        )
    with pytest.raises(SchedulingError, match="does not belong"):
        await scheduling.book(
            kind="service", when=TUESDAY_10, customer_id=2, vehicle_id=1, duration_min=45, now=NOW
        )
    assert await scheduling.list_appointments() == []


async def test_callbacks_round_trip_in_local_time(db: Database) -> None:
    callbacks = Callbacks(db, TZ)
    due = datetime(2027, 2, 1, 15, 0, tzinfo=ZoneInfo("UTC"))
    callback = await callbacks.schedule(
        session_id="call-1", phone="555-014-2233", name=HOSTILE, reason="wants a manager", due_at=due
    )
    earlier = await callbacks.schedule(
        session_id="call-2", phone=None, name=None, reason="lease question", due_at=due - timedelta(hours=1)
    )
    assert callback.phone == "+15550142233" and callback.name == HOSTILE
    assert callback.due_at == due and callback.due_at.tzinfo == TZ and callback.status == "scheduled"
    assert await callbacks.list() == [earlier, callback]
