"""Faults in the stores: Redis killed and restarted empty under a conversation, the database unavailable when
a booking is confirmed. Judged by replies, sessions in Redis and database rows."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.integration.agent_harness import agent_settings, running_agent
from tests.integration.agent_processes import free_port
from tests.integration.private_redis import PrivateRedis

pytestmark = pytest.mark.integration

BOOKING = [
    "Hi, I'd like to book an oil change please",
    "next Tuesday at 10 in the morning",
    "my name is John Smith",
    "it's five five five, oh one four, nine eight seven six",
]


async def test_conversations_go_on_while_redis_is_down_and_none_is_lost_after_it_restarts(
    tmp_path: Path,
) -> None:
    redis = PrivateRedis(tmp_path / "redis", free_port())
    redis.start()
    settings = agent_settings(tmp_path, state_backend="redis", redis_url=redis.url)
    try:
        async with running_agent(settings) as agent:
            session = (await agent.new_session())["session_id"]
            await agent.say(session, BOOKING[0])
            redis.stop()  # killed: every connection cut
            during = await agent.http.post("/api/chat", json={"session_id": session, "message": BOOKING[1]})
            assert during.status == 200, await during.text()
            assert (await during.json())["slots"]["preferred_time"] == "10:00"
            seen = await agent.http.get(f"/api/sessions/{session}")
            assert seen.status == 200 and len((await seen.json())["messages"]) == 5
            created = await agent.http.post("/api/sessions", json={})
            assert created.status == 201  # a caller who rings now is not turned away
            newcomer = (await created.json())["session_id"]
            unknown = await agent.http.get("/api/sessions/sess_only_redis_knew_this_one")
            assert unknown.status == 503 and unknown.headers["Retry-After"].isdigit()  # not 404, not 500

            redis.start()  # back, and empty: restarted without persistence
            after = await agent.say(session, BOOKING[2])
            assert (
                after["slots"]["customer_name"] == "John Smith"
                and after["slots"]["preferred_time"] == "10:00"
            )
            client = aioredis.from_url(redis.url, decode_responses=True)
            try:

                async def messages_in_redis() -> int:
                    stored = json.loads(await client.get(f"session:{session}") or "{}")
                    return len(stored.get("messages", []))

                for _ in range(50):  # written back within a second or two of Redis answering again
                    if await messages_in_redis() == 7:
                        break
                    await asyncio.sleep(0.1)
                assert await messages_in_redis() == 7  # greeting + three turns, none lost
                assert await client.exists(f"session:{newcomer}")
            finally:
                await client.aclose()
        async with running_agent(settings) as other:  # another process sharing Redis picks it up
            resumed = await other.say(session, BOOKING[3])
            assert "john smith" in resumed["reply"].lower() and "oil change" in resumed["reply"].lower()
    finally:
        redis.stop()


async def test_database_unavailable_at_the_confirmation_gets_a_clear_reply_and_writes_nothing(
    tmp_path: Path,
) -> None:
    settings = agent_settings(tmp_path)
    async with running_agent(settings) as agent:
        session = (await agent.new_session())["session_id"]
        for line in BOOKING:
            await agent.say(session, line)
        lock = sqlite3.connect(settings.store.database_path, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # another writer holds the database (a backup, a stuck job)
            refused = await agent.http.post("/api/chat", json={"session_id": session, "message": "yes"})
            assert refused.status == 503 and refused.headers["Retry-After"].isdigit()
            error = (await refused.json())["error"]
            assert error["code"] == "turn_failed" and "wasn't done" in error["message"]
        finally:
            lock.rollback()
            lock.close()
        with sqlite3.connect(settings.store.database_path) as db:
            assert db.execute("SELECT COUNT(*) FROM appointments").fetchone()[0] == 0
            assert db.execute("SELECT COUNT(*) FROM customers WHERE name = 'John Smith'").fetchone()[0] == 0
        state = await (await agent.http.get(f"/api/sessions/{session}")).json()
        assert state["turn_count"] == len(BOOKING) and not state["slots"]["completed"]
        booked = await agent.say(session, "yes")  # the database is back: the same answer books it
        assert "confirmation code" in booked["reply"].lower()
        with sqlite3.connect(settings.store.database_path) as db:
            assert db.execute("SELECT COUNT(*) FROM appointments").fetchone()[0] == 1
