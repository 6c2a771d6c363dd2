"""The call log on a SQLite file and on PostgreSQL: a call's life, idempotent finish, paging, odd input, the
migration from the previous schema version on both."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import pytest

from agent.store.calls import CallLog
from agent.store.db import Database
from agent.store.models import TranscriptLine
from agent.store.schema import MIGRATIONS, split_statements
from agent.store.schema_postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from agent.store.schema_postgres import VERSION_TABLE
from tests.store_backends import StoreTarget, schema_version

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"
RING = datetime(2027, 2, 1, 14, 0, 0, tzinfo=UTC)
CALLS_MIGRATION = 2  # the script that added the calls table


@pytest.fixture
async def db(store_target: StoreTarget) -> AsyncIterator[Database]:
    database = await store_target.open()
    try:
        yield database
    finally:
        await database.aclose()


async def test_a_call_from_ring_to_hang_up(db: Database) -> None:
    calls = CallLog(db)
    await calls.start("sip-1", "sip", "+15550142233", started_at=RING)
    ringing = await calls.get("sip-1")
    assert ringing is not None and ringing.active
    assert (ringing.channel, ringing.caller_id, ringing.started_at) == ("sip", "+15550142233", RING)
    assert ringing.answered_at is None and ringing.transcript == () and ringing.duration_s is None

    assert await calls.answered("sip-1", "session-abc", at=RING + timedelta(seconds=1))
    assert [call.call_id for call in await calls.active()] == ["sip-1"]

    transcript: list[TranscriptLine | dict[str, Any]] = [
        TranscriptLine("agent", "Thanks for calling Riverside Motors, how can I help?", 0.4),
        {"role": "caller", "text": "I'd like an oil change — Tuesday at 10?", "at_s": 3.2},
    ]
    turns = [{"stt_ms": 180.5, "llm_ms": np.float32(420.0), "tts_first_audio_ms": 95, "nan": float("nan")}]
    assert await calls.finish(
        "sip-1",
        outcome="booked",
        ended_by="caller",
        transcript=transcript,
        turns=turns,
        recording_path=Path("/data/recordings/sip-1.wav"),
        ended_at=RING + timedelta(seconds=95),
    )

    record = await calls.get("sip-1")
    assert record is not None and not record.active
    assert record.session_id == "session-abc"
    assert record.answered_at == RING + timedelta(seconds=1)
    assert (record.outcome, record.ended_by, record.transferred_to) == ("booked", "caller", None)
    assert record.recording_path == "/data/recordings/sip-1.wav"
    assert record.duration_s == 95.0
    assert record.transcript == (
        TranscriptLine("agent", "Thanks for calling Riverside Motors, how can I help?", 0.4),
        TranscriptLine("caller", "I'd like an oil change — Tuesday at 10?", 3.2),
    )
    assert record.turns == ({"stt_ms": 180.5, "llm_ms": 420.0, "tts_first_audio_ms": 95, "nan": None},)
    assert await calls.active() == []

    as_json = record.to_json()
    assert json.loads(json.dumps(as_json)) == as_json
    assert as_json["started_at"] == "2027-02-01T14:00:00+00:00"
    assert as_json["transcript"][1] == {
        "role": "caller",
        "text": "I'd like an oil change — Tuesday at 10?",
        "at_s": 3.2,
    }


async def test_a_second_finish_keeps_the_first_end_and_only_fills_gaps(db: Database) -> None:
    calls = CallLog(db)
    await calls.start("sip-2", "sip", None, started_at=RING)
    assert await calls.finish(
        "sip-2",
        outcome="transferred",
        ended_by="agent",
        transferred_to="sip:service@192.0.2.10",
        transcript=[TranscriptLine("caller", "A person, please.", 1.0)],
        ended_at=RING + timedelta(seconds=30),
    )
    assert await calls.finish(  # say, the shutdown path finishing every call it still knows
        "sip-2",
        outcome="abandoned",
        ended_by="shutdown",
        transcript=[TranscriptLine("caller", "something else", 2.0)],
        recording_path="/data/recordings/sip-2.wav",
        ended_at=RING + timedelta(hours=1),
    )
    record = await calls.get("sip-2")
    assert record is not None
    assert record.ended_at == RING + timedelta(seconds=30)
    assert (record.outcome, record.ended_by) == ("transferred", "agent")
    assert record.transferred_to == "sip:service@192.0.2.10"
    assert record.transcript == (TranscriptLine("caller", "A person, please.", 1.0),)
    assert record.recording_path == "/data/recordings/sip-2.wav"  # was empty, so the second one fills it


async def test_unknown_calls_and_odd_values_do_not_raise(db: Database) -> None:
    calls = CallLog(db)
    assert not await calls.finish("nobody", outcome="booked", ended_by="caller")
    assert not await calls.answered("nobody", "session-x")
    assert await calls.get("nobody") is None

    await calls.start("browser-1", "browser")
    await calls.start("browser-1", "sip", "+15550000000")  # a repeated id leaves the first row alone
    assert await calls.finish(
        "browser-1",
        outcome="x" * 500,
        ended_by="the-cat",  # type: ignore[arg-type]
        transcript=[{"role": "caller", "text": "hi", "at_s": "not a number"}, {"text": 7}],
        turns=[{"when": datetime(2027, 1, 1)}],
    )
    record = await calls.get("browser-1")
    assert record is not None
    assert (record.channel, record.caller_id, record.ended_by) == ("browser", None, None)
    assert record.outcome == "x" * 64
    assert record.transcript == (TranscriptLine("caller", "hi", 0.0), TranscriptLine("", "7", 0.0))
    assert record.turns == ({"when": "2027-01-01 00:00:00"},)
    assert record.started_at.tzinfo is not None

    with pytest.raises(ValueError):
        await calls.start("fax-1", "fax")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await calls.start("", "sip")

    async with db.write() as tx:  # a row damaged by hand still reads
        await tx.execute("UPDATE calls SET transcript_json = '{oops' WHERE call_id = 'browser-1'")
    damaged = await calls.get("browser-1")
    assert damaged is not None and damaged.transcript == ()


async def test_recent_pages_newest_first_and_active_lists_open_calls(db: Database) -> None:
    calls = CallLog(db)
    chicago = ZoneInfo("America/Chicago")
    for minute in range(7):
        # local times from another zone are stored as UTC and still sort by the moment they happened
        await calls.start(
            f"call-{minute}", "replay", started_at=(RING + timedelta(minutes=minute)).astimezone(chicago)
        )
    for minute in (0, 2, 4, 6):
        await calls.finish(f"call-{minute}", outcome="answered_question", ended_by="caller")

    first_page = await calls.recent(limit=3)
    second_page = await calls.recent(limit=3, offset=3)
    assert [call.call_id for call in first_page] == ["call-6", "call-5", "call-4"]
    assert [call.call_id for call in second_page] == ["call-3", "call-2", "call-1"]
    assert [call.call_id for call in await calls.recent(offset=6)] == ["call-0"]
    assert await calls.recent(limit=0) == []
    assert first_page[0].started_at == RING + timedelta(minutes=6)
    assert [call.call_id for call in await calls.active()] == ["call-5", "call-3", "call-1"]


async def leave_previous_version(target: StoreTarget) -> None:
    """The database as the release before the calls table left it: seeded long ago, one customer."""
    rows = (
        "INSERT INTO dealership (key, value) VALUES ('name', 'Old Motors')",
        "INSERT INTO customers (phone, name) VALUES ('+15550199999', 'Dana')",
    )
    if target.url is None:
        target.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(target.path) as old:
            for statement in [*split_statements(MIGRATIONS[0]), *rows]:
                old.execute(statement)
            old.execute(f"PRAGMA user_version = {CALLS_MIGRATION - 1}")
        old.close()
        return
    conn = await asyncpg.connect(target.url)
    try:
        for statement in (VERSION_TABLE, POSTGRES_MIGRATIONS[0], *rows):
            await conn.execute(statement)
        await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", CALLS_MIGRATION - 1)
    finally:
        await conn.close()


async def test_the_calls_migration_upgrades_a_database_of_the_previous_version(
    store_target: StoreTarget,
) -> None:
    await leave_previous_version(store_target)
    database = await store_target.open()
    try:
        assert await schema_version(database) == len(MIGRATIONS) >= CALLS_MIGRATION
        customer = await database.fetchone("SELECT name FROM customers WHERE phone = '+15550199999'")
        assert customer is not None and customer["name"] == "Dana"
        index = await database.fetchone(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'"
            if database.dialect == "sqlite"
            else "SELECT indexname FROM pg_indexes WHERE tablename = 'calls' AND indexname = 'calls_started'"
        )
        assert index is not None
        dealership = await database.fetchall("SELECT value FROM dealership")
        assert [row[0] for row in dealership] == ["Old Motors"]  # not seeded again

        calls = CallLog(database)
        await calls.start("sip-9", "sip", "+15550142233")
        assert [call.call_id for call in await calls.recent()] == ["sip-9"]
    finally:
        await database.aclose()

    reopened = await store_target.open()  # and opening again changes nothing
    try:
        assert await CallLog(reopened).get("sip-9") is not None
        assert await schema_version(reopened) == len(MIGRATIONS)
    finally:
        await reopened.aclose()
