"""The HTTP and WebSocket API for real: errors, hostile input, health, tokens, Redis state, concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from livekit import api

from agent.qa.dialog_scenarios import appointment_rows
from agent.store.state_store import RedisStateStore
from tests.integration.agent_harness import AgentClient, agent_settings, running_agent

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}


async def _error(agent: AgentClient, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = await agent.http.request(method, path, **kwargs)
    body: dict[str, Any] = await response.json()
    assert response.headers["X-Request-ID"] == body["request_id"]
    return response.status, body


async def test_bad_input_gets_clear_json_errors(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        session = (await agent.new_session())["session_id"]
        cases = [
            ("POST", "/api/chat", {"data": b"{not json", "headers": JSON}, 400, "invalid_json"),
            ("POST", "/api/chat", {"data": b""}, 400, "empty_body"),
            ("POST", "/api/chat", {"json": [1, 2]}, 400, "invalid_json"),
            ("POST", "/api/chat", {"json": {"session_id": session}}, 422, "invalid_fields"),
            ("POST", "/api/chat", {"json": {"session_id": session, "message": 5}}, 422, "invalid_fields"),
            (
                "POST",
                "/api/chat",
                {"json": {"session_id": session, "message": "  \x00\x07 "}},
                422,
                "empty_message",
            ),
            (
                "POST",
                "/api/chat",
                {"json": {"session_id": session, "message": "x" * 20_000}},
                413,
                "message_too_long",
            ),
            (
                "POST",
                "/api/chat",
                {"json": {"session_id": "sess_nope", "message": "hi"}},
                404,
                "unknown_session",
            ),
            (
                "POST",
                "/api/chat",
                {"json": {"session_id": session, "message": "hi", "extra": 1}},
                422,
                "invalid_fields",
            ),
            ("POST", "/api/sessions", {"json": {"phone": "not a phone"}}, 422, "invalid_phone"),
            ("GET", "/api/sessions/sess_nope", {}, 404, "unknown_session"),
            ("POST", "/api/voice/token", {"json": {"session_id": "sess_nope"}}, 404, "unknown_session"),
            ("POST", "/api/chat", {"data": b"x" * 200_000}, 413, "too_large"),
            ("GET", "/nowhere", {}, 404, "not_found"),
        ]
        for method, path, kwargs, status, code in cases:
            got_status, body = await _error(agent, method, path, **kwargs)
            assert (got_status, body["error"]["code"]) == (status, code), (path, kwargs.keys(), body)


async def test_request_id_is_echoed(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        response = await agent.http.get("/health", headers={"X-Request-ID": "req-abc-123"})
        assert response.headers["X-Request-ID"] == "req-abc-123"
        response = await agent.http.get("/health")
        assert len(response.headers["X-Request-ID"]) == 32


async def test_hostile_text_changes_nothing(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path)
    hostile = [
        "'; DROP TABLE appointments; --",
        "Robert'); DELETE FROM customers WHERE 1=1;--",
        "<script>alert('x')</script> book me in",
        "\u202e\u0000\u001b[31m control \u0007 characters",
        "SELECT * FROM customers" * 50,
        "💥" * 1500,
    ]
    async with running_agent(settings) as agent:
        session = (await agent.new_session())["session_id"]
        with sqlite3.connect(settings.store.database_path) as conn:
            before = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
        for text in hostile:
            response = await agent.http.post("/api/chat", json={"session_id": session, "message": text})
            assert response.status in (200, 413), await response.text()
            if response.status == 200:
                reply = (await response.json())["reply"]
                assert reply and "<" not in reply and "Traceback" not in reply
        with sqlite3.connect(settings.store.database_path) as conn:
            assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == before
            assert conn.execute("SELECT count(*) FROM appointments").fetchone()[0] == 0


async def test_health_reports_database_and_redis(tmp_path: Path, redis_url: str) -> None:
    async with running_agent(agent_settings(tmp_path, state_backend="redis", redis_url=redis_url)) as agent:
        response = await agent.http.get("/health")
        body = await response.json()
        assert response.status == 200
        assert body["database"] == "ok"
        assert body["state_store"] == {"backend": "redis", "status": "ok"}
    unreachable = "redis://127.0.0.1:1/0"
    async with running_agent(
        agent_settings(tmp_path / "b", state_backend="redis", redis_url=unreachable)
    ) as agent:
        response = await agent.http.get("/health")
        assert response.status == 503
        assert (await response.json())["state_store"]["status"] == "unavailable"


async def test_voice_token_has_least_grants_for_one_room(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, voice_token_ttl_s=300)
    async with running_agent(settings) as agent:
        session = (await agent.new_session())["session_id"]
        response = await agent.http.post("/api/voice/token", json={"session_id": session})
        body = await response.json()
    claims = api.TokenVerifier(
        settings.livekit.livekit_api_key, settings.livekit.livekit_api_secret.get_secret_value()
    ).verify(body["token"])
    video = claims.video
    assert video is not None
    assert body["room"] == f"call-{session}" == video.room
    assert video.room_join and video.can_subscribe and not video.can_publish_data
    assert not video.room_admin and not video.room_create and not video.room_list
    assert video.can_publish_sources == ["microphone"]
    with pytest.raises(Exception):  # noqa: B017 - a token signed with another secret must not verify
        api.TokenVerifier(settings.livekit.livekit_api_key, "another-secret-another-secret-0000").verify(
            body["token"]
        )


async def test_session_state_lives_in_redis_and_survives_an_app_restart(
    tmp_path: Path, redis_url: str
) -> None:
    settings = agent_settings(tmp_path, state_backend="redis", redis_url=redis_url, session_ttl_s=120)
    async with running_agent(settings) as agent:
        session = (await agent.new_session())["session_id"]
        await agent.say(session, "I'd like to book an oil change")
    store = RedisStateStore(redis_url, ttl_s=120)
    try:
        raw = await store.get(session)
        assert raw is not None and raw["booking_slots"]["service_type"] == "Oil change"
        assert 0 < await store._redis.ttl(f"session:{session}") <= 120
    finally:
        await store.aclose()
    async with running_agent(settings) as agent:
        body = await agent.say(session, "next Tuesday at 10 in the morning")
        assert body["slots"]["preferred_date"] == "2026-12-01"
        assert body["slots"]["preferred_time"] == "10:00"


async def _book_until_confirm(agent: AgentClient, phone: str, name: str) -> str:
    session = (await agent.new_session())["session_id"]
    for line in [
        "I'd like to test drive the Honda Pilot",
        "Monday at 3 in the afternoon",
        f"my name is {name}",
        phone,
    ]:
        body = await agent.say(session, line)
    assert body["slots"]["awaiting"] == "confirm", body
    return session


async def test_two_callers_racing_for_one_car_and_slot_get_exactly_one_booking(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path)
    async with running_agent(settings) as agent:
        first = await _book_until_confirm(agent, "555 014 8101", "Alice Moore")
        second = await _book_until_confirm(agent, "555 014 8102", "Bob Stone")
        replies = await asyncio.gather(agent.say(first, "yes"), agent.say(second, "yes"))
    booked = [r for r in replies if r["slots"]["completed"]]
    refused = [r for r in replies if not r["slots"]["completed"]]
    assert len(booked) == 1 and len(refused) == 1
    assert "nearest times" in refused[0]["reply"]
    rows = [r for r in appointment_rows(settings.store.database_path) if r["status"] == "booked"]
    assert len(rows) == 1
    assert rows[0]["date"] == "2026-11-30" and rows[0]["time"] == "15:00"


async def test_escalation_notification_arrives_on_the_websocket(tmp_path: Path, redis_url: str) -> None:
    settings = agent_settings(
        tmp_path, state_backend="redis", redis_url=redis_url, escalation_min_s=0.3, escalation_max_s=0.8
    )
    async with running_agent(settings) as agent:
        session = (await agent.new_session())["session_id"]
        async with agent.http.ws_connect(f"/ws/{session}") as ws:
            first = await ws.receive_json(timeout=5)
            assert first["type"] == "state_update"
            body = await agent.say(session, "I want to speak to a manager")
            assert body["agent"] == "escalation" and body["escalation_in_progress"] is True
            seen: list[dict[str, Any]] = []
            async with asyncio.timeout(10):
                while not any(e["type"] == "notification" for e in seen):
                    seen.append(await ws.receive_json())
            note = next(e for e in seen if e["type"] == "notification")
            assert note["priority"] in ("interrupt", "high")
            statuses = [e["task"]["status"] for e in seen if e["type"] == "task_update"]
            assert statuses[-1] == "completed" and "running" in statuses
            await ws.send_json({"type": "ping"})
            replies = [await ws.receive_json(timeout=5)]
            while replies[-1]["type"] != "pong":
                replies.append(await ws.receive_json(timeout=5))
        follow_up = await agent.say(session, "okay")
        assert note["message"] in follow_up["reply"]
        assert follow_up["escalation_in_progress"] is False


async def test_ending_a_session_cancels_its_background_check(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, escalation_min_s=30, escalation_max_s=40)
    async with running_agent(settings) as agent:
        session = (await agent.new_session())["session_id"]
        await agent.say(session, "let me talk to a human")
        response = await agent.http.delete(f"/api/sessions/{session}")
        assert response.status == 200
        response = await agent.http.get(f"/api/sessions/{session}")
        assert response.status == 404
        from agent.server.keys import HUMANS

        assert agent.http.server.app[HUMANS].running() == 0


async def test_websocket_rejects_foreign_origins_and_unknown_sessions(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        session = (await agent.new_session())["session_id"]
        response = await agent.http.get(f"/ws/{session}", headers={"Origin": "https://evil.example"})
        assert response.status == 403
        response = await agent.http.get("/ws/sess_unknown")
        assert response.status == 404


async def test_escalation_without_a_free_human_schedules_a_callback(tmp_path: Path) -> None:
    settings = agent_settings(
        tmp_path, human_available_probability=0.0, escalation_min_s=0.1, escalation_max_s=0.2
    )
    async with running_agent(settings) as agent:
        session = (await agent.new_session("+1 555 014 2233"))["session_id"]
        async with agent.http.ws_connect(f"/ws/{session}") as ws:
            await agent.say(session, "can I speak with someone in person")
            async with asyncio.timeout(10):
                while (event := await ws.receive_json())["type"] != "notification":
                    pass
        assert event["priority"] == "high" and "call back" in event["message"]
    with sqlite3.connect(settings.store.database_path) as conn:
        rows = conn.execute("SELECT phone, name, status, due_at FROM callbacks").fetchall()
    assert len(rows) == 1
    phone, name, status, _due = rows[0]
    assert (phone, name, status) == ("+15550142233", "Maria Gonzalez", "scheduled")


async def test_llm_brain_falls_back_to_offline_when_the_llm_is_down(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, brain="llm", llm_base_url="http://127.0.0.1:1/v1", llm_timeout_s=2)
    async with running_agent(settings) as agent:
        session = (await agent.new_session())["session_id"]
        unsure = await agent.say(session, "hmm the thing with the blinky dashboard doohickey")
        sure = await agent.say(session, "I'd like to book an oil change next Tuesday at 10 am")
        health = await (await agent.http.get("/health")).json()
        exposed = await (await agent.http.get("/metrics")).text()
    # What the offline brain is sure of never waits for the model; what it is not sure of asks the model, and
    # a model that is down is an offline fallback, said so in the reply and counted with its reason.
    assert sure["understood_by"] == "offline" and sure["slots_found_by"]["service"] == "offline"
    assert sure["slots"]["service_type"] == "Oil change" and sure["slots"]["preferred_date"] == "2026-12-01"
    assert unsure["understood_by"] == "offline-fallback", unsure
    assert 'agent_brain_fallbacks_total{reason="unreachable",step="route"}' in exposed
    assert 'agent_brain_turns_total{brain="offline-fallback"}' in exposed
    assert health["brain"] == "llm"
