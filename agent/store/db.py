"""The SQLite database: opening, migrating and seeding the file, and the read and write paths to it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import structlog

from agent.store.schema import MIGRATIONS, SEEDED_TABLES, split_statements
from agent.store.seed import insert_seed, read_seed_file

log = structlog.get_logger(__name__)

BUSY_TIMEOUT_MS = 10_000
Params = Sequence[Any]


class Reader(Protocol):
    """What repositories read through: the `Database` itself, or the `Transaction` of a `write()` block."""

    async def fetchall(self, sql: str, params: Params = ...) -> list[sqlite3.Row]: ...


class DatabaseClosed(RuntimeError):
    """The database was used after `aclose()`."""


class Database:
    """One SQLite file: a read connection shared by all callers and a write connection used one
    transaction at a time.

    Writes are serialised inside this process by an asyncio lock and across processes (or other
    `Database` objects on the same file) by `BEGIN IMMEDIATE`, which takes SQLite's write lock before
    anything is read, so a check-then-insert inside `write()` cannot race another writer.
    """

    def __init__(self, path: Path, reader: aiosqlite.Connection, writer: aiosqlite.Connection) -> None:
        self.path = path
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: Path, seed_path: Path | None = None) -> Database:
        """Open (creating if needed) the file, bring the schema up to date and seed an empty database."""
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        writer = await _connect(path, read_only=False)
        try:
            await _run(writer, "PRAGMA journal_mode = WAL")
            await _migrate(writer)
            if seed_path is not None:
                await _seed_if_empty(writer, seed_path)
            reader = await _connect(path, read_only=True)
        except BaseException:
            await writer.close()
            raise
        log.info("database.opened", path=str(path), schema_version=len(MIGRATIONS))
        return cls(path, reader, writer)

    async def aclose(self) -> None:
        """Close both connections; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        async with self._write_lock:
            await self._writer.close()
        await self._reader.close()

    async def healthy(self) -> bool:
        """True when the file answers a trivial query."""
        if self._closed:
            return False
        try:
            rows = await self._reader.execute_fetchall("SELECT 1")
        except (sqlite3.Error, ValueError):
            return False
        return [tuple(row) for row in rows] == [(1,)]

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run a read-only query on the shared read connection (sees everything committed)."""
        self._check_open()
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """One write transaction: `async with db.write() as tx:`; commits on success, rolls back on error.

        Reads made through `tx` see the transaction's own changes and cannot be invalidated by another
        writer, because the write lock is held from the first statement.
        """
        self._check_open()
        async with self._write_lock:
            self._check_open()
            try:
                await _run(self._writer, "BEGIN IMMEDIATE")
                yield Transaction(self._writer)
                await _run(self._writer, "COMMIT")
            except BaseException:
                # sqlite3's rollback() is a no-op outside a transaction, and the connection's queue is FIFO:
                # even after a cancellation mid-BEGIN this lands after it and leaves the connection clean.
                await self._writer.rollback()
                raise

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed(f"database {self.path} is closed")


class Transaction:
    """The handle a `write()` block gets: queries and statements on the connection holding the lock."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        cursor = await self._conn.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            await cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        cursor = await self._conn.executemany(sql, rows)
        await cursor.close()

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row id."""
        cursor = await self._conn.execute(sql, params)
        try:
            row_id = cursor.lastrowid
        finally:
            await cursor.close()
        if row_id is None:
            raise sqlite3.DatabaseError("INSERT did not produce a row id")
        return row_id


async def _connect(path: Path, *, read_only: bool) -> aiosqlite.Connection:
    # isolation_level=None: the sqlite3 module must not open transactions behind our back; we issue
    # BEGIN IMMEDIATE / COMMIT ourselves.
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await _run(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _run(conn, "PRAGMA foreign_keys = ON")
        await _run(conn, "PRAGMA synchronous = NORMAL")
        if read_only:
            await _run(conn, "PRAGMA query_only = ON")
    except BaseException:
        await conn.close()
        raise
    return conn


async def _run(conn: aiosqlite.Connection, sql: str) -> None:
    async with conn.execute(sql):
        pass


async def _user_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def _migrate(conn: aiosqlite.Connection) -> None:
    """Apply the scripts the file has not seen yet, each in its own transaction with its version bump."""
    while True:
        try:
            await _run(conn, "BEGIN IMMEDIATE")
            # Read the version under the write lock: another process may have migrated meanwhile.
            version = await _user_version(conn)
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"database schema version {version} is newer than this code ({len(MIGRATIONS)})"
                )
            if version == len(MIGRATIONS):
                await _run(conn, "COMMIT")
                return
            for statement in split_statements(MIGRATIONS[version]):
                await _run(conn, statement)
            await _run(conn, f"PRAGMA user_version = {version + 1}")
            await _run(conn, "COMMIT")
        except BaseException:
            await conn.rollback()
            raise
        log.info("database.migrated", version=version + 1)


async def _seed_if_empty(conn: aiosqlite.Connection, seed_path: Path) -> None:
    """Load the seed file when none of the seeded tables holds a row (so edits are never overwritten)."""
    try:
        await _run(conn, "BEGIN IMMEDIATE")
        for table in SEEDED_TABLES:  # names from our own constant, never from input
            rows = list(await conn.execute_fetchall(f"SELECT EXISTS (SELECT 1 FROM {table})"))
            if rows[0][0]:
                await conn.rollback()
                return
        data = await asyncio.to_thread(read_seed_file, seed_path)
        await insert_seed(conn, data)
        await _run(conn, "COMMIT")
    except BaseException:
        await conn.rollback()
        raise
    log.info("database.seeded", seed=str(seed_path))
