"""LlmClient against a real local llama.cpp server (marker llm) and against scripted fake endpoints."""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from agent.dialog.llm import BookingExtraction, LlmClient, LlmUnavailable, RouteDecision

pytestmark = pytest.mark.integration

ROUTING_CASES = [
    ("Hi, I'd like to book an oil change for my car.", "book_service"),
    ("What are your hours on Saturday?", "faq"),
    ("Can I talk to a real person please?", "escalation"),
    ("Do you have any used Hondas on the lot?", "inventory"),
    ("I need to cancel my appointment.", "cancel"),
    ("Yes, that's right.", "affirm"),
    ("Okay, bye.", "goodbye"),
    ("I want to test drive a RAV4.", "book_test_drive"),
]


@pytest.fixture
async def client(llm_base_url: str) -> AsyncIterator[LlmClient]:
    llm = LlmClient(base_url=llm_base_url, model="local", api_key="not-needed", timeout_s=60.0)
    yield llm
    await llm.aclose()


@pytest.mark.llm
async def test_warm_up_and_health(client: LlmClient) -> None:
    started = time.perf_counter()
    assert await client.warm_up()
    print(f"\nwarm_up (shared prompt prefix): {time.perf_counter() - started:.1f} s")
    assert await client.healthy()


@pytest.mark.llm
async def test_routes_typical_utterances(client: LlmClient) -> None:
    assert await client.warm_up()  # the shared prompt prefix is evaluated once; not timed
    misses: list[str] = []
    latencies: list[float] = []
    for utterance, expected in ROUTING_CASES:
        started = time.perf_counter()
        decision = await client.route(utterance, [], "new call")
        latencies.append(time.perf_counter() - started)
        assert 0.0 <= decision.confidence <= 1.0
        if decision.intent != expected:
            misses.append(f"{utterance!r}: expected {expected}, got {decision.intent}")
    print(
        f"\nroute: {len(ROUTING_CASES) - len(misses)}/{len(ROUTING_CASES)} correct, "
        f"p50 {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s; misses: {misses}"
    )
    assert len(misses) <= 1, misses


@pytest.mark.llm
async def test_routes_short_answer_using_context(client: LlmClient) -> None:
    history = [("caller", "I need an oil change"), ("agent", "Sure. What day works for you?")]
    decision = await client.route("Tuesday at 10", history, "Booking in progress; missing: date")
    assert decision.intent in {"provide_info", "book_service"}


@pytest.mark.llm
async def test_extracts_booking_details(client: LlmClient) -> None:
    utterance = "I'd like an oil change next Tuesday at 10 in the morning, my name is John Smith"
    await client.route(utterance, [], "new call")  # as the graph does: route first, then extract
    started = time.perf_counter()
    extraction = await client.extract_booking(utterance, [], "new call")
    print(f"\nextract_booking after route: {time.perf_counter() - started:.2f} s -> {extraction}")
    assert extraction.service is not None and "oil" in extraction.service.lower()
    assert extraction.date_text is not None and "tuesday" in extraction.date_text.lower()
    assert extraction.name is not None and extraction.name.lower() == "john smith"


@pytest.mark.llm
async def test_extraction_latency_and_slots(client: LlmClient) -> None:
    cases = [
        ("Can I test drive the Toyota RAV4 tomorrow afternoon?", "new call", "vehicle"),
        ("My number is 555 123 4567", "Booking in progress; missing: phone", "phone"),
        ("It's john.smith@example.com", "Booking in progress; missing: email", "email"),
        ("Yes, book it", "Booking in progress; asked the caller to confirm the booking", "confirm"),
    ]
    latencies: list[float] = []
    found: list[str] = []
    for utterance, context, slot in cases:
        started = time.perf_counter()
        extraction = await client.extract_booking(utterance, [], context)
        latencies.append(time.perf_counter() - started)
        if getattr(extraction, slot) is not None:
            found.append(slot)
        print(f"\n  {utterance!r} -> {extraction.model_dump(exclude_none=True)}")
    print(f"extract_booking (cold utterance): p50 {statistics.median(latencies):.2f} s; slots found {found}")
    assert len(found) >= 3, found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_endpoint_raises_llm_unavailable() -> None:
    llm = LlmClient(base_url=f"http://127.0.0.1:{free_port()}/v1", model="local", api_key="x", timeout_s=5.0)
    try:
        assert not await llm.healthy()
        with pytest.raises(LlmUnavailable, match="cannot reach"):
            await llm.route("hello", [], "new call")
    finally:
        await llm.aclose()
        await llm.aclose()  # idempotent
    with pytest.raises(LlmUnavailable, match="closed"):
        await llm.extract_booking("hello", [], "new call")


def _completion(content: str | None, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeEndpoint:
    """A scripted OpenAI-compatible endpoint: answers each chat request with the next canned body."""

    def __init__(self, replies: list[dict[str, Any]], delay_s: float = 0.0) -> None:
        self.replies = replies
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []

    async def chat(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        await asyncio.sleep(self.delay_s)
        return web.json_response(self.replies.pop(0))

    async def models(self, _: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "local", "object": "model"}]})


async def _serve(endpoint: FakeEndpoint) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", endpoint.chat)
    app.router.add_get("/v1/models", endpoint.models)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/v1"


async def test_reads_tool_calls_written_as_text_by_other_servers() -> None:
    booking_text = (
        '<tool_call>\n{"name": "update_booking", "arguments": {"service": "brake check", '
        '"date_text": "Friday morning", "name": null}}\n</tool_call>'
    )
    endpoint = FakeEndpoint(
        [
            _completion('```json\n{"intent": "book_service", "confidence": 0.9}\n```'),
            _completion(booking_text),
        ]
    )
    runner, base_url = await _serve(endpoint)
    llm = LlmClient(base_url=base_url, model="local", api_key="secret", timeout_s=5.0)
    try:
        assert await llm.healthy()
        history = [("caller", "hello"), ("agent", "Hi! How can I help?")]
        assert await llm.route("brakes please", history, "new call") == RouteDecision(
            intent="book_service", confidence=0.9
        )
        assert await llm.extract_booking(
            "brake check on Friday morning", [], "new call"
        ) == BookingExtraction(service="brake check", date_text="Friday morning")
    finally:
        await llm.aclose()
        await runner.cleanup()
    route_request, booking_request = endpoint.requests
    assert route_request["tool_choice"]["function"]["name"] == "route"
    assert booking_request["tool_choice"]["function"]["name"] == "update_booking"
    assert route_request["max_tokens"] == 40
    assert route_request["repeat_penalty"] == 1.0  # llama.cpp option, sent to loopback endpoints only
    # The stable prefix: same system prompt and tools on every call; the variable part comes last.
    assert route_request["messages"][0] == booking_request["messages"][0]
    assert route_request["tools"] == booking_request["tools"]
    assert "Agent: Hi! How can I help?" in route_request["messages"][-1]["content"]


async def test_reads_real_tool_calls() -> None:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "update_booking", "arguments": json.dumps({"confirm": "yes", "phone": "null"})},
    }
    endpoint = FakeEndpoint([_completion(None, [call])])
    runner, base_url = await _serve(endpoint)
    llm = LlmClient(base_url=base_url, model="local", api_key="x", timeout_s=5.0)
    try:
        assert await llm.extract_booking("yes", [], "confirming") == BookingExtraction(confirm="yes")
    finally:
        await llm.aclose()
        await runner.cleanup()


async def test_warm_up_waits_longer_than_the_call_timeout() -> None:
    endpoint = FakeEndpoint([_completion('{"intent": "greeting", "confidence": 1}')] * 2, delay_s=1.0)
    runner, base_url = await _serve(endpoint)
    llm = LlmClient(base_url=base_url, model="local", api_key="x", timeout_s=0.5)
    try:
        assert await llm.warm_up(timeout_s=10.0)
        assert not await llm.warm_up(timeout_s=0.2)
    finally:
        await llm.aclose()
        await runner.cleanup()


async def test_unreadable_or_slow_output_raises_llm_unavailable() -> None:
    endpoint = FakeEndpoint([_completion("I'm not sure, could you repeat that?"), _completion("late")], 0.0)
    runner, base_url = await _serve(endpoint)
    llm = LlmClient(base_url=base_url, model="local", api_key="x", timeout_s=0.5)
    try:
        with pytest.raises(LlmUnavailable, match="unreadable"):
            await llm.route("mumble", [], "new call")
        endpoint.delay_s = 1.0
        with pytest.raises(LlmUnavailable):
            await llm.extract_booking("mumble", [], "new call")
    finally:
        await llm.aclose()
        await runner.cleanup()
