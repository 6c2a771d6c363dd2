"""Customers and their own vehicles, keyed by a normalised phone number."""

from __future__ import annotations

import re

from agent.store.db import Database, Reader, Row, utc_now_text
from agent.store.models import Customer, Vehicle
from agent.store.phone_numbers import normalize_phone, require_phone

MAX_NAME_CHARS = 120
MAX_EMAIL_CHARS = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidCustomerData(ValueError):
    """A name, email or vehicle that cannot be stored as given."""


def clean_name(name: str | None) -> str | None:
    """Collapse whitespace; None for empty. Any characters are fine (they only ever reach SQL bound)."""
    if name is None:
        return None
    cleaned = " ".join(name.split())
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidCustomerData(f"name longer than {MAX_NAME_CHARS} characters")
    return cleaned or None


def clean_email(email: str | None) -> str | None:
    """Trimmed and lower-cased; None for empty; `InvalidCustomerData` when it is not shaped like one."""
    if email is None or not email.strip():
        return None
    cleaned = email.strip().lower()
    if len(cleaned) > MAX_EMAIL_CHARS or not _EMAIL.match(cleaned):
        raise InvalidCustomerData(f"not an email address: {email!r}")
    return cleaned


class Customers:
    """Look customers up by phone (any spelling of the number) and record what callers tell us."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_by_phone(self, phone: str) -> Customer | None:
        """The customer with this number ('+1 (555) 014-2233', '5550142233' ...), or None."""
        number = normalize_phone(phone)
        if number is None:
            return None
        row = await self._db.fetchone("SELECT * FROM customers WHERE phone = ?", (number,))
        return None if row is None else await _with_vehicles(self._db, row)

    async def get(self, customer_id: int) -> Customer | None:
        row = await self._db.fetchone("SELECT * FROM customers WHERE id = ?", (customer_id,))
        return None if row is None else await _with_vehicles(self._db, row)

    async def upsert(self, phone: str, name: str | None = None, email: str | None = None) -> Customer:
        """Create the customer, or fill in a name/email the record does not have yet.

        A stored name or e-mail is never replaced: whoever calls with a known number is not thereby that
        customer (issue 16, finding 3), so a booking under another name keeps that name on the booking.
        Raises `InvalidPhoneNumber` or `InvalidCustomerData` (both `ValueError`) for unusable input.
        """
        number = require_phone(phone)
        params = (number, clean_name(name), clean_email(email), utc_now_text())
        async with self._db.write() as tx:
            rows = await tx.fetchall(
                "INSERT INTO customers (phone, name, email, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (phone) DO UPDATE SET"
                " name = COALESCE(customers.name, excluded.name),"
                " email = COALESCE(customers.email, excluded.email),"
                " updated_at = excluded.updated_at"
                " RETURNING id",
                params,
            )
            row = await tx.fetchall("SELECT * FROM customers WHERE id = ?", (rows[0]["id"],))
            return await _with_vehicles(tx, row[0])

    async def add_vehicle(
        self,
        customer_id: int,
        *,
        make: str,
        model: str,
        year: int,
        license_plate: str | None = None,
        vin: str | None = None,
    ) -> Vehicle:
        """Record a vehicle the customer owns (for service bookings); returns it with its id."""
        if not make.strip() or not model.strip():
            raise InvalidCustomerData("a vehicle needs a make and a model")
        if not 1900 <= year <= 2100:
            raise InvalidCustomerData(f"implausible model year {year}")
        vin_clean = re.sub(r"[^A-Z0-9]", "", vin.upper()) if vin else None
        if vin_clean is not None and len(vin_clean) != 17:
            raise InvalidCustomerData("a VIN has 17 characters")
        plate = " ".join(license_plate.upper().split()) if license_plate else None
        async with self._db.write() as tx:
            if await tx.fetchone("SELECT 1 FROM customers WHERE id = ?", (customer_id,)) is None:
                raise InvalidCustomerData(f"unknown customer {customer_id}")
            vehicle_id = await tx.insert(
                "INSERT INTO vehicles (customer_id, make, model, year, license_plate, vin)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (customer_id, make.strip(), model.strip(), year, plate or None, vin_clean),
            )
        return Vehicle(
            id=vehicle_id,
            customer_id=customer_id,
            make=make.strip(),
            model=model.strip(),
            year=year,
            license_plate=plate or None,
            vin=vin_clean,
        )


async def _with_vehicles(q: Reader, row: Row) -> Customer:
    cars = await q.fetchall("SELECT * FROM vehicles WHERE customer_id = ? ORDER BY id", (row["id"],))
    return Customer(
        id=row["id"],
        phone=row["phone"],
        name=row["name"],
        email=row["email"],
        vehicles=tuple(
            Vehicle(
                id=car["id"],
                customer_id=car["customer_id"],
                make=car["make"],
                model=car["model"],
                year=car["year"],
                license_plate=car["license_plate"],
                vin=car["vin"],
            )
            for car in cars
        ),
    )
