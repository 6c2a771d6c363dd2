"""Issue 16, finding 9 (retention): recordings older than AGENT_RECORDING_RETENTION_DAYS are deleted and their
calls rows forget the path, on SQLite and PostgreSQL; the app's cleanup job does it from the start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from agent.audio.wav import write_wav_channels
from agent.calls.retention import RecordingRetention
from agent.store.calls import CallLog
from agent.store.db import Database
from tests.integration.agent_harness import agent_settings, running_agent
from tests.store_backends import StoreTarget

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(store_target: StoreTarget) -> AsyncIterator[Database]:
    database = await store_target.open()
    try:
        yield database
    finally:
        await database.aclose()


def a_recording(root: Path, started: datetime, name: str) -> Path:
    path = root / started.strftime("%Y-%m-%d") / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav_channels(path, [np.ones(800, np.int16), np.zeros(800, np.int16)], 8000)
    return path


async def test_old_recordings_are_deleted_and_their_rows_forget_them(db: Database, tmp_path: Path) -> None:
    calls, root = CallLog(db), tmp_path / "recordings"
    kept: dict[str, Path] = {}
    for call_id, age_days in (("old-1", 45), ("old-2", 31), ("recent", 29), ("today", 0)):
        started = NOW - timedelta(days=age_days)
        kept[call_id] = a_recording(root, started, call_id)
        await calls.start(call_id, "sip", "+15550142233", started_at=started)
        await calls.finish(call_id, outcome="booked", ended_by="caller", recording_path=kept[call_id])
    stray = a_recording(root, NOW - timedelta(days=60), "row-never-written")

    swept = await RecordingRetention(calls, root, days=30).sweep(now=NOW)

    assert (swept.files, swept.rows) == (3, 2)
    assert not kept["old-1"].exists() and not kept["old-2"].exists() and not stray.exists()
    assert kept["recent"].exists() and kept["today"].exists()
    for call_id, path in (("old-1", None), ("old-2", None), ("recent", str(kept["recent"]))):
        record = await calls.get(call_id)
        assert record is not None and record.recording_path == path and record.outcome == "booked"
    assert sorted(folder.name for folder in root.iterdir()) == ["2027-01-31", "2027-03-01"]  # emptied ones go
    assert (await RecordingRetention(calls, root, days=30).sweep(now=NOW)).files == 0


async def test_the_app_sweeps_on_start(tmp_path: Path) -> None:
    old = a_recording(tmp_path / "recordings", datetime.now(UTC) - timedelta(days=400), "sip-old")
    fresh = a_recording(tmp_path / "recordings", datetime.now(UTC), "sip-new")
    async with running_agent(agent_settings(tmp_path, recording_retention_days=365)):
        for _ in range(100):
            if not old.exists():
                break
            await asyncio.sleep(0.05)
        assert not old.exists() and fresh.exists()


async def test_retention_zero_keeps_everything(tmp_path: Path) -> None:
    old = a_recording(tmp_path / "recordings", datetime.now(UTC) - timedelta(days=4000), "sip-old")
    async with running_agent(agent_settings(tmp_path, recording_retention_days=0)) as agent:
        assert (await agent.http.get("/health")).status == 200
        await asyncio.sleep(0.3)
    assert old.exists()
