"""Which database the agent opens: PostgreSQL when a `postgresql://` URL is set, else the SQLite file."""

from __future__ import annotations

from pathlib import Path

from agent.config import StoreSettings
from agent.store.db import Database
from agent.store.postgres_db import PostgresDatabase
from agent.store.sqlite_db import SqliteDatabase

POSTGRES_SCHEMES: tuple[str, ...] = ("postgresql://", "postgres://")


def is_postgres_url(url: str) -> bool:
    return url.strip().lower().startswith(POSTGRES_SCHEMES)


async def open_database(settings: StoreSettings) -> Database:
    """Open, migrate and (when empty) seed the database the settings name: PostgreSQL when
    AGENT_DATABASE_URL is set, else the SQLite file at AGENT_DATABASE_PATH."""
    url = settings.database_url.get_secret_value() if settings.database_url is not None else None
    return await open_database_at(settings.database_path, settings.seed_path, url)


async def open_database_at(path: Path, seed_path: Path | None, url: str | None = None) -> Database:
    """`url`, when set, must be a PostgreSQL URL and wins; otherwise the SQLite file at `path` is used."""
    if url is not None and url.strip():
        if not is_postgres_url(url):
            raise ValueError(f"AGENT_DATABASE_URL must start with one of {POSTGRES_SCHEMES}")
        return await PostgresDatabase.connect(url.strip(), seed_path)
    return await SqliteDatabase.open(path, seed_path)
