"""LlmClient against a real local llama.cpp server (marker llm) and against scripted fake endpoints."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from agent.dialog.llm import LlmClient, LlmUnavailable, SpokenAnswer, Understanding
from agent.dialog.llm_grounding import grounded
from agent.dialog.llm_prompt import system_prompt, understand_schema
from agent.dialog.tools.dealership import DealershipKnowledge
from agent.store.models import DealershipInfo, FaqEntry, InventoryVehicle, ServiceType

pytestmark = pytest.mark.integration

SEED = yaml.safe_load((Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml").read_text())
KNOWLEDGE = DealershipKnowledge(
    services=tuple(
        ServiceType(
            i, r["name"], r["duration_min"], r["price_min"], r["price_max"], aliases=tuple(r["aliases"])
        )
        for i, r in enumerate(SEED["service_types"], start=1)
    ),
    inventory=tuple(
        InventoryVehicle(
            i,
            v["stock_number"],
            v["make"],
            v["model"],
            v["year"],
            v.get("trim", ""),
            v["color"],
            v["price"],
            v["mileage"],
            v["is_new"],
            True,
            v.get("body_style", ""),
        )
        for i, v in enumerate(SEED["inventory"], start=1)
    ),
    faq=tuple(FaqEntry(i, f["category"], f["question"], f["answer"]) for i, f in enumerate(SEED["faq"], 1)),
)
INFO = DealershipInfo(**{k: SEED["dealership"][k] for k in ("name", "address", "phone", "email", "website")})
PROMPT = system_prompt(INFO, KNOWLEDGE)
SCHEMA = understand_schema(KNOWLEDGE)

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


def _client(base_url: str, timeout_s: float, api_key: str = "not-needed") -> LlmClient:
    return LlmClient(
        base_url=base_url,
        model="local",
        api_key=api_key,
        timeout_s=timeout_s,
        system_prompt=PROMPT,
        understand_schema=SCHEMA,
    )


@pytest.fixture
async def client(llm_base_url: str) -> AsyncIterator[LlmClient]:
    llm = _client(llm_base_url, 120.0)
    yield llm
    await llm.aclose()


@pytest.mark.llm
async def test_warm_up_and_health(client: LlmClient) -> None:
    started = time.perf_counter()
    assert await client.warm_up()
    print(f"\nwarm_up (shared prompt prefix): {time.perf_counter() - started:.1f} s")
    assert await client.healthy()


@pytest.mark.llm
async def test_understands_typical_utterances_with_one_request_each(client: LlmClient) -> None:
    assert await client.warm_up()  # the shared prompt prefix is evaluated once; not timed
    misses: list[str] = []
    latencies: list[float] = []
    for utterance, expected in ROUTING_CASES:
        started = time.perf_counter()
        understood = await client.understand(utterance, "", "no booking in progress")
        latencies.append(time.perf_counter() - started)
        if understood.intent != expected:
            misses.append(f"{utterance!r}: expected {expected}, got {understood.intent}")
    print(
        f"\nunderstand: {len(ROUTING_CASES) - len(misses)}/{len(ROUTING_CASES)} correct, "
        f"p50 {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s; misses: {misses}"
    )
    assert len(misses) <= 2, misses  # the brain asks the model only when the offline brain is unsure


@pytest.mark.llm
async def test_understands_a_service_described_in_the_callers_own_words(client: LlmClient) -> None:
    understood = await client.understand(
        "the air blowing out the vents is warm even on max cold",
        "Sure, I can book a service visit. What does your car need?",
        "book in progress; agent asked for: service; known: nothing",
    )
    assert understood.intent in ("book_service", "provide_info"), understood
    assert understood.service == "Air conditioning service", (
        understood
    )  # a menu name: the grammar allows no other


@pytest.mark.llm
async def test_answers_from_the_facts_and_what_it_makes_up_is_caught(client: LlmClient) -> None:
    hours = await client.answer("What time does the service department close on Saturdays?")
    assert hours.known and hours.reply is not None, hours
    assert "2" in hours.reply or "two" in hours.reply.lower(), hours  # service closes at 2 on Saturdays
    assert (
        grounded(
            "What time does the service department close on Saturdays?", hours.fact or "", hours.reply, PROMPT
        )
        is None
    )
    # A 1.5B model answers what the facts do not hold too ("vanilla"): the brain's check must refuse it.
    unknown = await client.answer("What is the manager's favourite ice cream flavour?")
    assert not unknown.known or grounded(
        "favourite ice cream", unknown.fact or "", unknown.reply or "", PROMPT
    ), unknown


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


async def test_requests_share_one_prefix_and_constrain_the_output_by_schema() -> None:
    endpoint = FakeEndpoint(
        [
            _completion(
                '```json\n{"intent": "book_service", "service": "Oil change", "when": "Friday"}\n```'
            ),
            _completion('{"reply": "We close at 6 on weekdays."}'),
        ]
    )
    runner, base_url = await _serve(endpoint)
    llm = _client(base_url, 5.0, api_key="secret")
    try:
        assert await llm.healthy()
        understood = await llm.understand(
            "oil change Friday", "Hi! How can I help?", "no booking in progress"
        )
        assert understood == Understanding(intent="book_service", service="Oil change", when="Friday")
        assert await llm.answer("when do you close?") == SpokenAnswer(
            known=True, reply="We close at 6 on weekdays."
        )
    finally:
        await llm.aclose()
        await runner.cleanup()
    understand_request, answer_request = endpoint.requests
    # The stable prefix: the same system prompt (instructions + facts) on every request, the task after it.
    assert understand_request["messages"][0] == answer_request["messages"][0]
    assert understand_request["messages"][0]["content"] == PROMPT
    assert understand_request["messages"][-1]["content"].startswith("UNDERSTAND")
    assert "Agent: Hi! How can I help?" in understand_request["messages"][-1]["content"]
    assert answer_request["messages"][-1]["content"].startswith("ANSWER")
    # llama.cpp (a loopback endpoint) takes the JSON schema inside json_object and compiles it to a grammar.
    assert understand_request["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert understand_request["max_tokens"] == 60
    assert understand_request["repeat_penalty"] == 1.0
    assert "tools" not in understand_request


async def test_warm_up_waits_longer_than_the_call_timeout() -> None:
    endpoint = FakeEndpoint([_completion('{"intent": "greeting"}')] * 2, delay_s=1.0)
    runner, base_url = await _serve(endpoint)
    llm = _client(base_url, 0.5)
    try:
        assert await llm.warm_up(timeout_s=10.0)
        assert not await llm.warm_up(timeout_s=0.2)
    finally:
        await llm.aclose()
        await runner.cleanup()


async def test_unreadable_or_slow_output_raises_llm_unavailable_with_its_reason() -> None:
    endpoint = FakeEndpoint([_completion("I'm not sure, could you repeat that?"), _completion("late")], 0.0)
    runner, base_url = await _serve(endpoint)
    llm = _client(base_url, 0.5)
    try:
        with pytest.raises(LlmUnavailable, match="unreadable") as unreadable:
            await llm.understand("mumble", "", "new call")
        assert unreadable.value.reason == "unreadable"
        endpoint.delay_s = 1.0
        with pytest.raises(LlmUnavailable) as slow:
            await llm.answer("mumble")
        assert slow.value.reason == "timeout"
    finally:
        await llm.aclose()
        await runner.cleanup()


async def test_unreachable_endpoint_raises_llm_unavailable() -> None:
    llm = _client(f"http://127.0.0.1:{free_port()}/v1", 5.0)
    try:
        assert not await llm.healthy()
        with pytest.raises(LlmUnavailable, match="cannot reach"):
            await llm.understand("hello", "", "new call")
    finally:
        await llm.aclose()
        await llm.aclose()  # idempotent
    with pytest.raises(LlmUnavailable, match="closed"):
        await llm.answer("hello")
