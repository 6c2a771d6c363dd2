"""The SQLite schema as an ordered list of migration scripts; `PRAGMA user_version` counts those applied."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

# Append new scripts; never edit one that has shipped. Script N (1-based) brings user_version to N.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE dealership (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        phone TEXT NOT NULL UNIQUE,
        name TEXT,
        email TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );

    CREATE TABLE vehicles (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        make TEXT NOT NULL,
        model TEXT NOT NULL,
        year INTEGER NOT NULL,
        license_plate TEXT,
        vin TEXT
    );
    CREATE INDEX vehicles_customer ON vehicles(customer_id);

    CREATE TABLE service_types (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        duration_min INTEGER NOT NULL CHECK (duration_min > 0),
        price_min REAL NOT NULL CHECK (price_min >= 0),
        price_max REAL NOT NULL CHECK (price_max >= price_min),
        description TEXT NOT NULL DEFAULT '',
        aliases TEXT NOT NULL DEFAULT '[]'
    );

    CREATE TABLE inventory (
        id INTEGER PRIMARY KEY,
        stock_number TEXT NOT NULL UNIQUE,
        make TEXT NOT NULL,
        model TEXT NOT NULL,
        year INTEGER NOT NULL,
        trim TEXT NOT NULL DEFAULT '',
        color TEXT NOT NULL DEFAULT '',
        price REAL NOT NULL CHECK (price >= 0),
        mileage INTEGER NOT NULL DEFAULT 0 CHECK (mileage >= 0),
        is_new INTEGER NOT NULL CHECK (is_new IN (0, 1)),
        is_available INTEGER NOT NULL DEFAULT 1 CHECK (is_available IN (0, 1)),
        body_style TEXT NOT NULL DEFAULT ''
    );

    CREATE TABLE faq (
        id INTEGER PRIMARY KEY,
        category TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        keywords TEXT NOT NULL DEFAULT '[]'
    );

    CREATE TABLE business_hours (
        department TEXT NOT NULL CHECK (department IN ('sales', 'service')),
        weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
        opens TEXT NOT NULL,
        closes TEXT NOT NULL CHECK (closes > opens),
        PRIMARY KEY (department, weekday)
    );

    CREATE TABLE holidays (
        day TEXT PRIMARY KEY,
        name TEXT NOT NULL
    );

    CREATE TABLE resources (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('service', 'test_drive')),
        name TEXT NOT NULL UNIQUE
    );

    CREATE TABLE appointments (
        id INTEGER PRIMARY KEY,
        confirmation_code TEXT NOT NULL UNIQUE,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        appointment_type TEXT NOT NULL CHECK (appointment_type IN ('service', 'test_drive')),
        service_type_id INTEGER REFERENCES service_types(id),
        inventory_id INTEGER REFERENCES inventory(id),
        vehicle_id INTEGER REFERENCES vehicles(id),
        scheduled_date TEXT NOT NULL,
        scheduled_time TEXT NOT NULL,
        duration_min INTEGER NOT NULL CHECK (duration_min > 0),
        resource TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'booked'
            CHECK (status IN ('booked', 'cancelled', 'completed', 'no_show')),
        notes TEXT NOT NULL DEFAULT '',
        session_id TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    -- The database itself refuses a double booking, whatever the application code does.
    CREATE UNIQUE INDEX appointments_resource_slot
        ON appointments(resource, scheduled_date, scheduled_time) WHERE status = 'booked';
    CREATE UNIQUE INDEX appointments_vehicle_slot
        ON appointments(inventory_id, scheduled_date, scheduled_time)
        WHERE status = 'booked' AND inventory_id IS NOT NULL;
    CREATE INDEX appointments_customer ON appointments(customer_id, scheduled_date);
    CREATE INDEX appointments_day ON appointments(scheduled_date, scheduled_time);

    CREATE TABLE callbacks (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        phone TEXT,
        name TEXT,
        reason TEXT NOT NULL,
        due_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'done', 'cancelled')),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE INDEX callbacks_due ON callbacks(status, due_at);
    """,
    # 2: one row per phone call: who called, how it ended, the recording and the transcript.
    # channel and ended_by are checked in agent/store/calls.py rather than by CHECK constraints, so a new
    # channel needs no table rebuild; outcome is an open set of words.
    """
    CREATE TABLE calls (
        call_id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        caller_id TEXT,
        session_id TEXT,
        started_at TEXT NOT NULL,
        answered_at TEXT,
        ended_at TEXT,
        outcome TEXT,
        ended_by TEXT,
        transferred_to TEXT,
        recording_path TEXT,
        transcript_json TEXT NOT NULL DEFAULT '[]',
        turns_json TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX calls_started ON calls(started_at);
    """,
    # 3: who a booking is for when that is not the customer on file (a known number booked under another
    # name): the stored customer is never overwritten by a caller, the booking keeps what they said.
    """
    ALTER TABLE appointments ADD COLUMN contact_name TEXT;
    ALTER TABLE appointments ADD COLUMN contact_email TEXT;
    """,
)

# Tables whose rows come from the seed file; the seed is loaded only while all of them are empty.
SEEDED_TABLES: tuple[str, ...] = (
    "dealership",
    "service_types",
    "inventory",
    "faq",
    "business_hours",
    "holidays",
    "resources",
)


def split_statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (so each can run inside our own transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            pending = ""
            if statement and not _only_comments(statement):
                yield statement
    if pending.strip() and not _only_comments(pending):
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:80]!r}")


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
