"""The two database engines agree: the same tables, columns and indexes, one SQL text for both, and the
settings pick PostgreSQL only for a PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from agent.config import StoreSettings
from agent.store.backends import open_database
from agent.store.db import Database
from agent.store.postgres_db import postgres_sql, redacted
from agent.store.sqlite_db import SqliteDatabase
from tests.postgres_server import PostgresServer
from tests.store_backends import SEED

pytestmark = pytest.mark.integration


async def sqlite_layout(db: Database) -> dict[str, list[str]]:
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    layout: dict[str, list[str]] = {}
    for table in tables:
        columns = await db.fetchall(f"SELECT name FROM pragma_table_info('{table['name']}') ORDER BY cid")
        layout[table["name"]] = [column["name"] for column in columns]
    return layout


async def postgres_layout(db: Database) -> dict[str, list[str]]:
    rows = await db.fetchall(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name <> 'schema_version'"
        " ORDER BY table_name, ordinal_position"
    )
    layout: dict[str, list[str]] = {}
    for row in rows:
        layout.setdefault(row["table_name"], []).append(row["column_name"])
    return layout


async def index_names(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    else:
        rows = await db.fetchall(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'"
            " AND indexname NOT LIKE '%_key'"
        )
    return {row[0] for row in rows}


async def test_both_engines_hold_the_same_tables_columns_and_indexes(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    name = postgres_server.new_database()
    lite = await SqliteDatabase.open(tmp_path / "layout.db", SEED)
    postgres = await open_database(
        StoreSettings(database_path=tmp_path / "unused.db", database_url=SecretStr(postgres_server.url(name)))
    )
    try:
        assert postgres.dialect == "postgresql"
        expected = await sqlite_layout(lite)
        assert {"appointments", "customers", "calls", "callbacks", "vehicles"} <= set(expected)
        assert await postgres_layout(postgres) == expected
        indexes = await index_names(lite)
        assert {"appointments_resource_slot", "appointments_vehicle_slot"} <= indexes
        assert await index_names(postgres) == indexes
        for table in expected:  # and the same seed in each
            lite_count = await lite.fetchone(f"SELECT COUNT(*) FROM {table}")
            postgres_count = await postgres.fetchone(f"SELECT COUNT(*) FROM {table}")
            assert lite_count is not None and postgres_count is not None
            assert lite_count[0] == postgres_count[0], table
    finally:
        await lite.aclose()
        await postgres.aclose()
        postgres_server.drop_database(name)


async def test_without_a_url_the_settings_open_the_sqlite_file(tmp_path: Path) -> None:
    db = await open_database(
        StoreSettings(database_path=tmp_path / "d.db", database_url=None, seed_path=SEED)
    )
    try:
        assert db.dialect == "sqlite" and db.location == str(tmp_path / "d.db")
    finally:
        await db.aclose()
    with pytest.raises(ValueError, match="AGENT_DATABASE_URL"):
        await open_database(StoreSettings(database_url=SecretStr("mysql://db/dealership")))


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT * FROM t WHERE a = ? AND b IN (?, ?)", "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"),
        ("SELECT '?', \"odd?name\" FROM t WHERE a = ?", "SELECT '?', \"odd?name\" FROM t WHERE a = $1"),
        ("SELECT 'it''s ?' -- why?\nFROM t WHERE a = ?", "SELECT 'it''s ?' -- why?\nFROM t WHERE a = $1"),
        ("UPDATE t SET note = '%Y-%m' WHERE id = ?", "UPDATE t SET note = '%Y-%m' WHERE id = $1"),
    ],
)
def test_question_marks_become_numbered_parameters_outside_literals(sqlite: str, postgres: str) -> None:
    assert postgres_sql(sqlite) == postgres


def test_logged_urls_hide_the_password() -> None:
    assert (
        redacted("postgresql://agent:s3cret@db:5432/dealership")
        == "postgresql://agent:***@db:5432/dealership"
    )
    assert redacted("postgresql://agent@db/dealership") == "postgresql://agent@db/dealership"
