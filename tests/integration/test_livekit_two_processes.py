"""Two real agent processes behind one webhook URL: a webhook delivered to both is handled by one (Redis claim)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.agent_processes import agent_environment, agent_processes, free_port
from tests.integration.test_livekit_webhook import KEY, SECRET, signature, webhook_body

pytestmark = pytest.mark.integration


def rows_for(database: Path, room: str) -> list[sqlite3.Row]:
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute("SELECT * FROM calls WHERE call_id = ?", (room,)))


async def test_a_webhook_delivered_to_two_processes_makes_one_call(tmp_path: Path, redis_url: str) -> None:
    """LiveKit is unreachable here, so the one process that claims the room fails to join it and records a
    missed call; the other must not even try: one row, and one 'claimed elsewhere' in the logs."""
    database = tmp_path / "dealership.db"
    environment = {
        **agent_environment({"AGENT_DATABASE_PATH": str(database)}, redis_url),
        "AGENT_LIVEKIT_ENABLED": "true",
        "AGENT_LIVEKIT_URL": f"ws://127.0.0.1:{free_port()}",
        "AGENT_LIVEKIT_API_KEY": KEY,
        "AGENT_LIVEKIT_API_SECRET": SECRET,
        "AGENT_LIVEKIT_JOIN_TIMEOUT_S": "1",
        "AGENT_LOG_LEVEL": "info",
    }
    room = f"call-_+15551230000_{uuid.uuid4().hex[:8]}"
    body = webhook_body(room=room)
    async with agent_processes(2, environment, tmp_path) as agents:
        answers = await asyncio.gather(
            *(
                agent.http.post("/livekit/webhook", content=body, headers={"Authorization": signature(body)})
                for agent in agents
            )
        )
        assert [answer.status_code for answer in answers] == [200, 200]
        deadline = time.monotonic() + 60
        while not [row for row in rows_for(database, room) if row["ended_at"]]:
            assert time.monotonic() < deadline, [agent.log_tail() for agent in agents]
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # time for a second process to have done the same, were it allowed to
        logs = [agent.log.read_text(errors="replace") for agent in agents]
    [row] = rows_for(database, room)
    assert row["outcome"] == "missed" and row["caller_id"] == "+15551230000"
    assert sum("livekit_room_claimed_elsewhere" in log for log in logs) == 1
