"""Two real agent processes sharing Redis and one database (PostgreSQL, or one SQLite file): callers whose
conversations hop between the processes race for one slot, and only the slot's capacity gets booked."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.store.catalog import Catalog
from tests.integration.agent_processes import agent_environment, agent_processes
from tests.store_backends import StoreTarget

pytestmark = pytest.mark.integration

TZ = ZoneInfo("America/Chicago")
RACERS = 10  # five confirm on each process, for a 10 o'clock service slot with two bays
BAYS = 2


async def race_day(target: StoreTarget) -> date:
    """A Tuesday to Friday at least three days ahead (the agents use the real clock), not a holiday."""
    db = await target.open(None)
    try:
        holidays = {holiday.day for holiday in await Catalog(db).holidays()}
    finally:
        await db.aclose()
    day = datetime.now(TZ).date() + timedelta(days=3)
    while day.weekday() not in (1, 2, 3, 4) or day in holidays:
        day += timedelta(days=1)
    return day


def spoken(day: date) -> str:
    """'Tuesday December 15th at 10 in the morning'."""
    suffix = "th" if 11 <= day.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    return f"{day:%A %B} {day.day}{suffix} at 10 in the morning"


async def test_bookings_raced_over_two_processes_never_exceed_the_slot(
    store_target: StoreTarget, redis_url: str, tmp_path: Path
) -> None:
    environment = agent_environment(store_target.environment(), redis_url)
    async with agent_processes(2, environment, tmp_path) as agents:
        day = await race_day(store_target)  # the agents have migrated and seeded the database by now
        sessions: list[str] = []
        for racer in range(RACERS):
            session = await agents[racer % 2].new_session()
            lines = [
                "I'd like to book an oil change",
                spoken(day),
                f"my name is Racer Number{racer}",
                f"555 014 81{racer:02d}",
                "skip",
            ]
            for turn, line in enumerate(lines):  # each turn on the other process: the state is in Redis
                body = await agents[(racer + turn + 1) % 2].say(session, line)
            assert body["slots"]["awaiting"] == "confirm", body
            assert body["slots"]["preferred_date"] == day.isoformat(), body
            sessions.append(session)

        replies = await asyncio.gather(
            *(agents[racer % 2].say(session, "yes") for racer, session in enumerate(sessions))
        )

    booked = [reply for reply in replies if reply["slots"]["completed"]]
    refused = [reply for reply in replies if not reply["slots"]["completed"]]
    assert len(booked) == BAYS, [reply["reply"] for reply in replies]
    assert len(refused) == RACERS - BAYS
    assert all("confirmation code" in reply["reply"] for reply in booked)
    assert all("The nearest times I have are" in reply["reply"] for reply in refused), refused

    db = await store_target.open(None)
    try:
        rows = await db.fetchall(
            "SELECT resource, status FROM appointments WHERE scheduled_date = ? AND scheduled_time = ?",
            (day.isoformat(), "10:00"),
        )
    finally:
        await db.aclose()
    assert sorted((row["resource"], row["status"]) for row in rows) == [
        ("bay-1", "booked"),
        ("bay-2", "booked"),
    ]
