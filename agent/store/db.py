"""What repositories see of a database, whichever engine holds it: rows, the read path, write transactions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Protocol

Params = Sequence[Any]
Dialect = Literal["sqlite", "postgresql"]


class Row(Protocol):
    """A result row: by column name (`row["id"]`) or position (`row[0]`), like `sqlite3.Row` and
    asyncpg's `Record`, which both satisfy it."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...

    def keys(self) -> Iterable[str]: ...


class Reader(Protocol):
    """What repositories read through: the `Database` itself, or the `Transaction` of a `write()` block.

    SQL is written once, in the SQLite dialect's `?` parameter style and in SQL both engines run; the
    PostgreSQL database translates the parameters (see `agent.store.postgres_db`).
    """

    async def fetchall(self, sql: str, params: Params = ...) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ...) -> Row | None: ...


class DatabaseClosed(RuntimeError):
    """The database was used after `aclose()`."""


class ConstraintViolation(Exception):
    """The database refused a write that breaks a constraint; `unique` when a unique index refused it
    (for a booking: someone else holds the slot)."""

    def __init__(self, message: str, *, unique: bool) -> None:
        super().__init__(message)
        self.unique = unique


class Transaction(ABC):
    """The handle a `write()` block gets: reads see the block's own changes, and no other writer (in this
    process or another) can change what it read before it commits."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT into a table with an integer `id` key and return the new row's id."""


class Database(ABC):
    """A database the repositories share: a read path that sees everything committed, and `write()`
    transactions that run one at a time across every process using the same database, so a
    check-then-insert inside one cannot race another writer. Unique indexes back that up."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a read-only query outside any write transaction (it cannot change data)."""

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    def write(self) -> AbstractAsyncContextManager[Transaction]:
        """One write transaction: `async with db.write() as tx:`; commits on success, rolls back on error."""

    @abstractmethod
    async def healthy(self) -> bool:
        """True when the database answers a trivial query."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close every connection; calling it again does nothing."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the data lives, for logs: a file path, or a URL without its password."""


def utc_now_text() -> str:
    """Now as the schema stores `created_at`/`updated_at`: '2027-02-01T14:00:00Z' (UTC, whole seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
