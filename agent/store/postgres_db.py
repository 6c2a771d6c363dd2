"""PostgreSQL through asyncpg: the SQLite store's read path and write transactions, shared by many processes.

The only module that imports the driver. Repositories keep writing SQL once, with SQLite's `?` parameters;
`postgres_sql` turns those into `$1, $2, ...` here. asyncpg's `Record` already reads like `sqlite3.Row` (by
column name or position). A write transaction first takes one transaction-scoped advisory lock, so writes
run one at a time across every process and host on the database, as `BEGIN IMMEDIATE` makes them on a
SQLite file: a booking's check-then-insert cannot race, and the partial unique indexes back that up.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from agent.store.db import ConstraintViolation, Database, DatabaseClosed, Params, Row, Transaction
from agent.store.schema_postgres import MIGRATIONS, VERSION_TABLE
from agent.store.seed import seed_if_empty

log = structlog.get_logger(__name__)

# The advisory lock every write transaction (and the migration) holds: any 64-bit number no other
# application on the same database uses. This one is 'dealer' in ASCII.
WRITE_LOCK_KEY = 0x6465616C6572
CLOSE_TIMEOUT_S = 10.0
CONNECT_WAIT_S = 30.0  # a compose stack starts the agent and PostgreSQL together
HEALTH_TIMEOUT_S = 2.0
# A string literal, a quoted identifier or a comment (whose '?' are not parameters), or a parameter.
_SQL_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?")


@functools.lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> str:
    """SQLite's positional `?` parameters as PostgreSQL's `$1, $2, ...` (literals and comments untouched)."""
    numbers = itertools.count(1)
    return _SQL_TOKEN.sub(lambda token: f"${next(numbers)}" if token[0] == "?" else token[0], sql)


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


class PostgresDatabase(Database):
    """A PostgreSQL database: a pool of read-only connections for the read path (they see everything
    committed and cannot write), and a pool of connections for `write()` transactions, which run one at a
    time in this process (an asyncio lock) and across processes (the advisory lock)."""

    dialect = "postgresql"

    def __init__(self, url: str, readers: asyncpg.Pool, writers: asyncpg.Pool) -> None:
        self._url = url
        self._readers = readers
        self._writers = writers
        self._closed = False
        # Writers of this process queue here rather than on the server's lock: one pooled connection waits
        # for the advisory lock at a time (16 concurrent bookers: ~4x the bookings/s of all 16 waiting there).
        self._write_lock = asyncio.Lock()

    @property
    def location(self) -> str:
        return redacted(self._url)

    @classmethod
    async def connect(
        cls,
        url: str,
        seed_path: Path | None = None,
        *,
        readers: int = 8,
        writers: int = 2,
        connect_wait_s: float = CONNECT_WAIT_S,
    ) -> PostgresDatabase:
        """Connect (waiting up to `connect_wait_s` for a server that is still starting), bring the schema up
        to date and seed an empty database (safe from many processes at once: the migration and the seeding
        run under the write lock)."""
        write_pool = await _first_pool(url, writers, connect_wait_s)
        try:
            read_pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=readers,
                server_settings={"default_transaction_read_only": "on"},
            )
        except BaseException:
            await write_pool.close()
            raise
        database = cls(url, read_pool, write_pool)
        try:
            async with write_pool.acquire() as conn:
                await _migrate(conn)
            if seed_path is not None:
                await seed_if_empty(database, seed_path)
        except BaseException:
            await database.aclose()
            raise
        log.info("database.opened", url=redacted(url), schema_version=len(MIGRATIONS))
        return database

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pool in (self._writers, self._readers):
            try:
                await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_S)
            except TimeoutError:
                pool.terminate()

    async def healthy(self) -> bool:
        if self._closed:
            return False
        try:
            value = await self._readers.fetchval("SELECT 1", timeout=HEALTH_TIMEOUT_S)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            return False
        return bool(value == 1)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a query on a read-only connection (sees everything committed)."""
        self._check_open()
        rows: list[Row] = await self._readers.fetch(postgres_sql(sql), *params)
        return rows

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        self._check_open()
        async with self._write_lock, self._writers.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK_KEY)
            yield PostgresTransaction(conn)

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed(f"database {self.location} is closed")


class PostgresTransaction(Transaction):
    """Queries and statements on the connection holding the write lock, inside its transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = await self._guarded(self._conn.fetch(postgres_sql(sql), *params))
        return rows

    async def execute(self, sql: str, params: Params = ()) -> int:
        status: str = await self._guarded(self._conn.execute(postgres_sql(sql), *params))
        count = status.rsplit(" ", 1)[-1]  # 'UPDATE 3', 'INSERT 0 1', 'DELETE 0'
        return int(count) if count.isdigit() else 0

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._guarded(self._conn.executemany(postgres_sql(sql), [tuple(row) for row in rows]))

    async def insert(self, sql: str, params: Params = ()) -> int:
        row_id = await self._guarded(self._conn.fetchval(postgres_sql(sql) + " RETURNING id", *params))
        return int(row_id)

    @staticmethod
    async def _guarded(work: Any) -> Any:
        try:
            return await work
        except asyncpg.IntegrityConstraintViolationError as exc:
            unique = isinstance(exc, asyncpg.UniqueViolationError)
            raise ConstraintViolation(str(exc), unique=unique) from exc


async def _first_pool(url: str, size: int, wait_s: float) -> asyncpg.Pool:
    """The write pool, retrying while the server refuses connections (not up yet, or still starting)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await asyncpg.create_pool(url, min_size=1, max_size=size)
        except (OSError, asyncpg.CannotConnectNowError) as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("database.waiting_for_server", url=redacted(url), error=str(exc))
            await asyncio.sleep(1.0)


async def _migrate(conn: asyncpg.Connection) -> None:
    """Apply the scripts the database has not seen yet, in one transaction under the write lock."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK_KEY)
        await conn.execute(VERSION_TABLE)
        version = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"database schema version {version} is newer than this code ({len(MIGRATIONS)})"
            )
        for number in range(version, len(MIGRATIONS)):
            await conn.execute(MIGRATIONS[number])
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number + 1)
            log.info("database.migrated", version=number + 1)
