"""The embedded SQLite file: opening, migrating and seeding it, and the read and write paths to it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import structlog

from agent.store.db import ConstraintViolation, Database, DatabaseClosed, Params, Row, Transaction
from agent.store.schema import MIGRATIONS, split_statements
from agent.store.seed import seed_if_empty

log = structlog.get_logger(__name__)

BUSY_TIMEOUT_MS = 10_000


class SqliteDatabase(Database):
    """One SQLite file: a read connection shared by all callers and a write connection used one
    transaction at a time.

    Writes are serialised inside this process by an asyncio lock and across processes (or other
    `SqliteDatabase` objects on the same file) by `BEGIN IMMEDIATE`, which takes SQLite's write lock before
    anything is read, so a check-then-insert inside `write()` cannot race another writer.
    """

    dialect = "sqlite"

    def __init__(self, path: Path, reader: aiosqlite.Connection, writer: aiosqlite.Connection) -> None:
        self.path = path
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._closed = False

    @property
    def location(self) -> str:
        return str(self.path)

    @classmethod
    async def open(cls, path: Path, seed_path: Path | None = None) -> SqliteDatabase:
        """Open (creating if needed) the file, bring the schema up to date and seed an empty database."""
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        writer = await _connect(path, read_only=False)
        try:
            await _run(writer, "PRAGMA journal_mode = WAL")
            await _migrate(writer)
            reader = await _connect(path, read_only=True)
        except BaseException:
            await writer.close()
            raise
        database = cls(path, reader, writer)
        try:
            if seed_path is not None:
                await seed_if_empty(database, seed_path)
        except BaseException:
            await database.aclose()
            raise
        log.info("database.opened", path=str(path), schema_version=len(MIGRATIONS))
        return database

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._write_lock:
            await self._writer.close()
        await self._reader.close()

    async def healthy(self) -> bool:
        if self._closed:
            return False
        try:
            rows = await self._reader.execute_fetchall("SELECT 1")
        except (sqlite3.Error, ValueError):
            return False
        return [tuple(row) for row in rows] == [(1,)]

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a read-only query on the shared read connection (sees everything committed)."""
        self._check_open()
        return list(await self._reader.execute_fetchall(sql, params))

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """Reads made through the transaction see its own changes and cannot be invalidated by another
        writer, because the write lock is held from the first statement."""
        self._check_open()
        async with self._write_lock:
            self._check_open()
            try:
                await _run(self._writer, "BEGIN IMMEDIATE")
                yield SqliteTransaction(self._writer)
                await _run(self._writer, "COMMIT")
            except BaseException:
                # sqlite3's rollback() is a no-op outside a transaction, and the connection's queue is FIFO:
                # even after a cancellation mid-BEGIN this lands after it and leaves the connection clean.
                await self._writer.rollback()
                raise

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed(f"database {self.path} is closed")


class SqliteTransaction(Transaction):
    """Queries and statements on the connection holding the write lock."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except sqlite3.IntegrityError as exc:  # an INSERT ... RETURNING
            raise _violation(exc) from exc

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            cursor = await self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise _violation(exc) from exc
        try:
            return cursor.rowcount
        finally:
            await cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            cursor = await self._conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise _violation(exc) from exc
        await cursor.close()

    async def insert(self, sql: str, params: Params = ()) -> int:
        try:
            cursor = await self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise _violation(exc) from exc
        try:
            row_id = cursor.lastrowid
        finally:
            await cursor.close()
        if row_id is None:
            raise sqlite3.DatabaseError("INSERT did not produce a row id")
        return row_id


def _violation(exc: sqlite3.IntegrityError) -> ConstraintViolation:
    # sqlite3 has no subclass per constraint; its messages start 'UNIQUE constraint failed: ...'.
    return ConstraintViolation(str(exc), unique=str(exc).startswith("UNIQUE"))


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
