"""Faults during phone calls: Redis killed mid-call and restarted empty, the database locked when the caller
confirms a booking. Real baresip callers on the embedded SIP endpoint; judged by what the caller heard, the
call's row and the bookings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.server.keys import CALL_LOG
from tests.integration.agent_processes import free_port
from tests.integration.private_redis import PrivateRedis
from tests.integration.sip_agent import (
    AGENT_PORT,
    KNOWN_CALLER,
    active_calls,
    heard_text,
    rows,
    sip_agent,
    sip_settings,
)
from tests.integration.sip_peers import (
    Baresip,
    caller_audio,
    in_loopback_namespace,
    peers_missing,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sip,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="SIP tests run inside a loopback-only namespace (scripts/test)"
    ),
    pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}"),
]


def transcript_has(db: Path, *words: str) -> bool:
    found = rows(db, "SELECT transcript_json FROM calls")
    return bool(found) and all(word in found[0]["transcript_json"].lower() for word in words)


async def test_redis_killed_and_restarted_mid_call_the_call_goes_on_and_loses_no_turn(tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path / "redis", free_port())
    redis.start()
    settings = sip_settings(tmp_path, state_backend="redis", redis_url=redis.url, media_timeout_s=10)
    wav = caller_audio(
        tmp_path / "caller.wav",
        [(4.0, "audio/location/01.wav"), (16.0, "audio/service_hours_saturday/01.wav")],
        tail_s=14,
    )
    caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), wav=wav)
    db = settings.store.database_path
    try:
        async with sip_agent(settings) as app:
            caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
            try:
                await wait_until(lambda: transcript_has(db, "located"), 30, "the first question answered")
                redis.stop()  # the second question comes while Redis is away
                await wait_until(lambda: transcript_has(db, "hours"), 40, "the second question answered")
                redis.start()  # back, empty, before the caller hangs up
                await caller.wait_calls_ended(1, 40)
            finally:
                caller.stop()
            await wait_until(lambda: active_calls(app) == 0, 10, "the call to end")
            [call] = await app[CALL_LOG].recent()
        assert (call.outcome, call.ended_by) == ("answered_question", "caller")
        caller_lines = [line.text.lower() for line in call.transcript if line.role == "caller"]
        assert len(caller_lines) == 2 and "hours" in caller_lines[1]
        assert len([line for line in call.transcript if line.role == "agent"]) == 3  # greeting, two answers
        assert len(call.turns) == 2
    finally:
        redis.stop()


async def test_database_locked_at_the_confirmation_the_caller_hears_so_and_nothing_is_booked(
    tmp_path: Path,
) -> None:
    settings = sip_settings(tmp_path, media_timeout_s=10)
    wav = caller_audio(
        tmp_path / "booking.wav",
        [
            (7.0, "audio/known_caller_test_drive_phone/01.wav"),
            (24.0, "audio/known_caller_test_drive_phone/02.wav"),  # "yes", after the ~18 s read-back
        ],
        tail_s=24.0,  # the locked write gives up after 10 s; then the caller hears why
    )
    db = settings.store.database_path
    caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), user=KNOWN_CALLER, wav=wav)
    lock = None
    async with sip_agent(settings) as app:
        caller.start(dial=f"sip:+15125550100@127.0.0.1:{AGENT_PORT}")
        try:
            await wait_until(lambda: transcript_has(db, "rav4", "saturday"), 40, "the read-back")
            lock = sqlite3.connect(db, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")  # another writer holds the database when the caller says yes
            await caller.wait_calls_ended(1, 60)
        finally:
            caller.stop()
            if lock is not None:
                lock.rollback()
                lock.close()
        await wait_until(lambda: active_calls(app) == 0, 20, "the call to end")
        heard = await heard_text(caller)
        assert "say that again" in heard, heard  # the coordinator's TURN_FAILED_REPLY, not silence
        assert rows(db, "SELECT * FROM appointments") == []
        [maria] = rows(db, "SELECT name FROM customers WHERE phone = ?", KNOWN_CALLER)
        assert maria["name"] == "Maria Gonzalez"
        await wait_until(lambda: bool(rows(db, "SELECT 1 FROM calls WHERE ended_at IS NOT NULL")), 20, "row")
        [call] = await app[CALL_LOG].recent()
        assert call.outcome != "booked" and call.ended_by == "caller"
