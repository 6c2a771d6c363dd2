"""The seed file loads into a fresh database (SQLite and PostgreSQL), is big enough to be realistic, and agrees
with itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

import pytest

from agent.store.catalog import Catalog
from agent.store.seed import SeedError
from tests.store_backends import StoreTarget

pytestmark = pytest.mark.unit

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@pytest.fixture
async def catalog(store_target: StoreTarget) -> AsyncIterator[Catalog]:
    db = await store_target.open(SEED)
    try:
        yield Catalog(db)
    finally:
        await db.aclose()


def spoken(value: time) -> str:
    """How the FAQ says a time: 7:30 -> '7:30 in the morning', 18:00 -> '6 in the evening'."""
    hour = value.hour % 12 or 12
    clock = f"{hour}:{value.minute:02d}" if value.minute else str(hour)
    part = (
        "in the morning" if value.hour < 12 else "in the afternoon" if value.hour < 17 else "in the evening"
    )
    return f"{clock} {part}"


async def test_seed_has_the_promised_breadth(catalog: Catalog) -> None:
    services = await catalog.list_services()
    inventory = await catalog.list_inventory()
    faq = await catalog.list_faq()
    assert len(services) >= 14
    assert len(inventory) >= 32
    assert len(faq) >= 28
    makes = {car.make for car in inventory}
    assert {"Toyota", "Honda", "Ford", "Chevrolet", "Subaru", "Hyundai", "Mazda", "Nissan", "Tesla"} <= makes
    assert any(not car.is_available for car in inventory)
    assert all(car.mileage <= 20 for car in inventory if car.is_new)
    assert all(2016 <= car.year <= 2026 for car in inventory)
    assert all(service.aliases and service.price_max >= service.price_min for service in services)
    info = await catalog.dealership()
    assert info.name == "Riverside Motors" and info.address


async def test_faq_is_written_for_the_ear(catalog: Catalog) -> None:
    for entry in await catalog.list_faq():
        assert entry.answer and entry.keywords
        assert "\n" not in entry.answer
        assert not re.search(r"(^|\s)[-*•]\s", entry.answer), entry.question
        assert "$" not in entry.answer, "prices are said in words for text-to-speech"


@pytest.mark.parametrize("department", ["sales", "service"])
async def test_faq_hours_agree_with_the_hours_table(catalog: Catalog, department: str) -> None:
    hours = await catalog.opening_hours(department)  # type: ignore[arg-type]
    answer = next(
        entry.answer
        for entry in await catalog.list_faq()
        if entry.category == "hours" and department in entry.question.lower()
    )
    for row in hours:
        assert f"from {spoken(row.opens)} to {spoken(row.closes)}" in answer, (DAY_NAMES[row.weekday], answer)
    closed_days = {DAY_NAMES[day] for day in range(7)} - {DAY_NAMES[row.weekday] for row in hours}
    assert closed_days == {"Sunday"}
    assert "closed on Sunday" in answer


async def test_oil_change_faq_quotes_the_service_price_and_duration(catalog: Catalog) -> None:
    oil = next(service for service in await catalog.list_services() if service.name == "Oil change")
    faq = {entry.question: entry.answer for entry in await catalog.list_faq()}
    assert f"between {oil.price_min:.0f} and {oil.price_max:.0f} dollars" in faq["How much is an oil change?"]
    assert f"about {oil.duration_min} minutes" in faq["How long does an oil change take?"]


async def test_seeded_customers_have_normalised_phones_and_vehicles(store_target: StoreTarget) -> None:
    db = await store_target.open(SEED)
    try:
        rows = await db.fetchall("SELECT phone FROM customers")
        assert len(rows) >= 4
        assert all(re.fullmatch(r"\+1\d{10}", row["phone"]) for row in rows)
        cars = await db.fetchone("SELECT COUNT(*) FROM vehicles")
        assert cars is not None and cars[0] >= len(rows)
    finally:
        await db.aclose()


async def test_a_broken_seed_file_is_reported_and_nothing_is_half_loaded(
    store_target: StoreTarget, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("service_types:\n  - name: Oil change\n", encoding="utf-8")  # no duration, no prices
    with pytest.raises(SeedError):
        await store_target.open(bad)
    db = await store_target.open(None)
    try:
        assert await db.fetchall("SELECT * FROM service_types") == []
    finally:
        await db.aclose()


async def test_missing_seed_file_is_a_seed_error(store_target: StoreTarget, tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read"):
        await store_target.open(tmp_path / "missing.yaml")
