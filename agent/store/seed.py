"""Seed data: reading the dealership YAML file and inserting it into an empty database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import date, time
from pathlib import Path
from typing import Any

import structlog
import yaml

from agent.store.db import Database, Transaction
from agent.store.phone_numbers import require_phone
from agent.store.schema import SEEDED_TABLES

log = structlog.get_logger(__name__)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEPARTMENTS: tuple[str, ...] = ("sales", "service")
RESOURCE_KINDS: tuple[str, ...] = ("service", "test_drive")


class SeedError(ValueError):
    """The seed file is missing, unreadable or does not have the expected shape."""


def read_seed_file(path: Path) -> dict[str, Any]:
    """Parse the YAML seed file (blocking: call it through `asyncio.to_thread`)."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path} must hold a mapping at the top level")
    return data


async def seed_if_empty(db: Database, seed_path: Path) -> bool:
    """Load the seed file when none of the seeded tables holds a row (so edits are never overwritten).

    Runs in one write transaction: another process opening the same database at the same moment waits,
    then finds the rows and leaves them. True when this call loaded the seed.
    """
    async with db.write() as tx:
        for table in SEEDED_TABLES:  # names from our own constant, never from input
            found = await tx.fetchone(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if found is not None and found[0]:
                return False
        data = await asyncio.to_thread(read_seed_file, seed_path)
        await insert_seed(tx, data)
    log.info("database.seeded", seed=str(seed_path), location=db.location)
    return True


async def insert_seed(tx: Transaction, data: Mapping[str, Any]) -> None:
    """Insert every section of the seed; the caller owns the transaction."""
    try:
        await _insert_dealership(tx, data.get("dealership", {}))
        await _insert_hours(tx, data.get("business_hours", {}))
        await _insert_holidays(tx, data.get("holidays", []))
        await _insert_resources(tx, data.get("resources", {}))
        await _insert_services(tx, data.get("service_types", []))
        await _insert_inventory(tx, data.get("inventory", []))
        await _insert_faq(tx, data.get("faq", []))
        await _insert_customers(tx, data.get("customers", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise SeedError(f"bad seed data: {exc!r}") from exc


async def _insert_dealership(tx: Transaction, info: Mapping[str, Any]) -> None:
    await tx.executemany(
        "INSERT INTO dealership (key, value) VALUES (?, ?)",
        [(str(key), str(value)) for key, value in info.items()],
    )


async def _insert_hours(tx: Transaction, hours: Mapping[str, Mapping[str, Any]]) -> None:
    rows: list[tuple[str, int, str, str]] = []
    for department, days in hours.items():
        if department not in DEPARTMENTS:
            raise ValueError(f"unknown department {department!r}")
        for day, span in days.items():
            if span is None or span == "closed":
                continue
            opens, closes = (_hhmm(part) for part in span)
            rows.append((department, WEEKDAYS.index(str(day).lower()[:3]), opens, closes))
    await tx.executemany(
        "INSERT INTO business_hours (department, weekday, opens, closes) VALUES (?, ?, ?, ?)", rows
    )


async def _insert_holidays(tx: Transaction, holidays: Sequence[Mapping[str, Any]]) -> None:
    await tx.executemany(
        "INSERT INTO holidays (day, name) VALUES (?, ?)",
        [(_iso_day(item["date"]), str(item["name"])) for item in holidays],
    )


async def _insert_resources(tx: Transaction, resources: Mapping[str, Sequence[str]]) -> None:
    rows: list[tuple[str, str]] = []
    for kind, names in resources.items():
        if kind not in RESOURCE_KINDS:
            raise ValueError(f"unknown resource kind {kind!r}")
        rows.extend((kind, str(name)) for name in names)
    await tx.executemany("INSERT INTO resources (kind, name) VALUES (?, ?)", rows)


async def _insert_services(tx: Transaction, services: Sequence[Mapping[str, Any]]) -> None:
    await tx.executemany(
        "INSERT INTO service_types (name, duration_min, price_min, price_max, description, aliases)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                str(item["name"]),
                int(item["duration_min"]),
                float(item["price_min"]),
                float(item["price_max"]),
                str(item.get("description", "")),
                json.dumps([str(alias) for alias in item.get("aliases", [])]),
            )
            for item in services
        ],
    )


async def _insert_inventory(tx: Transaction, vehicles: Sequence[Mapping[str, Any]]) -> None:
    await tx.executemany(
        "INSERT INTO inventory (stock_number, make, model, year, trim, color, price, mileage, is_new,"
        " is_available, body_style) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                str(item["stock_number"]),
                str(item["make"]),
                str(item["model"]),
                int(item["year"]),
                str(item.get("trim", "")),
                str(item.get("color", "")),
                float(item["price"]),
                int(item.get("mileage", 0)),
                int(bool(item["is_new"])),
                int(bool(item.get("is_available", True))),
                str(item.get("body_style", "")),
            )
            for item in vehicles
        ],
    )


async def _insert_faq(tx: Transaction, entries: Sequence[Mapping[str, Any]]) -> None:
    await tx.executemany(
        "INSERT INTO faq (category, question, answer, keywords) VALUES (?, ?, ?, ?)",
        [
            (
                str(item["category"]),
                str(item["question"]),
                " ".join(str(item["answer"]).split()),
                json.dumps([str(word) for word in item.get("keywords", [])]),
            )
            for item in entries
        ],
    )


async def _insert_customers(tx: Transaction, customers: Sequence[Mapping[str, Any]]) -> None:
    for item in customers:
        customer_id = await tx.insert(
            "INSERT INTO customers (phone, name, email) VALUES (?, ?, ?)",
            (require_phone(str(item["phone"])), item.get("name"), item.get("email")),
        )
        await tx.executemany(
            "INSERT INTO vehicles (customer_id, make, model, year, license_plate, vin)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    customer_id,
                    str(car["make"]),
                    str(car["model"]),
                    int(car["year"]),
                    car.get("license_plate"),
                    car.get("vin"),
                )
                for car in item.get("vehicles", [])
            ],
        )


def _hhmm(value: Any) -> str:
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 09:00 as the sexagesimal integer 540.
        value = f"{value // 60:02d}:{value % 60:02d}"
    return time.fromisoformat(str(value)).strftime("%H:%M")


def _iso_day(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return date.fromisoformat(str(value)).isoformat()
