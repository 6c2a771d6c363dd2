"""Where a store test's data lives: a SQLite file, or a fresh database on the private PostgreSQL server."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from agent.store.backends import open_database_at
from agent.store.db import Database, Dialect

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "dealership.yaml"
BACKENDS: tuple[Dialect, ...] = ("sqlite", "postgresql")
# What the read path raises when asked to write.
READ_ONLY_ERRORS = (sqlite3.OperationalError, asyncpg.ReadOnlySQLTransactionError)


@dataclass(frozen=True)
class StoreTarget:
    """One test's database; `open()` twice gives two independent handles on the same data (as two
    processes would have)."""

    dialect: Dialect
    path: Path
    url: str | None = None

    async def open(self, seed: Path | None = SEED) -> Database:
        return await open_database_at(self.path, seed, self.url)

    def environment(self) -> dict[str, str]:
        """The variables that point an agent process at this database."""
        variables = {"AGENT_DATABASE_PATH": str(self.path)}
        if self.url is not None:
            variables["AGENT_DATABASE_URL"] = self.url
        return variables


async def schema_version(db: Database) -> int:
    """How many migration scripts the database has applied."""
    if db.dialect == "sqlite":
        row = await db.fetchone("PRAGMA user_version")
    else:
        row = await db.fetchone("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    assert row is not None
    return int(row[0])
