"""Issue 16, finding 2: a phone number typed into the API is a claim, not an identity. Whoever supplies a
customer's number gets a first-name greeting and nothing else of the customer's record, on any route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent_harness import agent_settings, running_agent

pytestmark = pytest.mark.integration

MARIA = "+1 555 014 2233"  # seeded: Maria Gonzalez, maria.gonzalez@example.com, a 2019 Honda CR-V
HER_RECORD = ("gonzalez", "maria.gonzalez@example.com", "honda", "cr-v", "2019", "customer_id")


def leaked(value: Any) -> list[str]:
    """What of Maria's stored record (beyond her first name) a piece of a response shows."""
    text = json.dumps(value).lower()
    return [detail for detail in HER_RECORD if detail in text]


async def test_a_claimed_number_gets_a_first_name_greeting_and_nothing_of_the_record(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        created = await agent.http.post("/api/sessions", json={"phone": MARIA})
        assert created.status == 201
        body = await created.json()
        assert body["greeting"].startswith("Hi Maria, thanks")  # the greeting by first name stays
        assert body["customer"] == {"name": "Maria", "phone": "+15550142233"}
        assert leaked(body) == []
        session_id = body["session_id"]

        state = await (await agent.http.get(f"/api/sessions/{session_id}")).json()
        assert state["customer"] == {"name": "Maria", "phone": "+15550142233"}
        assert leaked(state["customer"]) == [] and leaked(state["slots"]) == []

        ws = await agent.http.ws_connect(f"/ws/{session_id}")
        try:
            first = await ws.receive_json(timeout=5)
            assert first["type"] == "state_update" and leaked(first) == []
            # After a turn, the chat answer and the state pushed to the page show the same public customer.
            turn = await agent.say(session_id, "what are your hours on saturday")
            assert turn["customer"] == {"name": "Maria", "phone": "+15550142233"}
            updates = []
            while not updates:
                event = await ws.receive_json(timeout=5)
                if event["type"] == "state_update":
                    updates.append(event)
            assert updates[0]["customer"] == {"name": "Maria", "phone": "+15550142233"}
        finally:
            await ws.close()


async def test_an_unknown_number_is_not_greeted_by_name(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        body = await agent.new_session("+1 555 010 9999")
        assert body["greeting"].startswith("Thanks for calling")
        assert body["customer"] == {"name": None, "phone": "+15550109999"}
