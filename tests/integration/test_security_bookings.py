"""Issue 16, findings 1 and 3: a phone number is a claim. Whoever gives a customer's number can neither cancel
or move that customer's booking (that takes the confirmation code, or a caller id a trusted trunk vouches for
together with a detail of the booking), nor hear the customer's record read back, nor overwrite it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.server.keys import CONVERSATIONS
from tests.integration.agent_harness import AgentClient, agent_settings, running_agent

pytestmark = pytest.mark.integration

MARIA = "+1 555 014 2233"  # seeded: Maria Gonzalez, maria.gonzalez@example.com


def rows(database: Path, sql: str) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql).fetchall()]


def appointments(database: Path) -> list[dict[str, Any]]:
    return rows(
        database,
        "SELECT a.confirmation_code AS code, a.status, a.contact_name, a.contact_email, c.name, c.email"
        " FROM appointments a JOIN customers c ON c.id = a.customer_id ORDER BY a.id",
    )


async def book_for_maria(agent: AgentClient) -> str:
    """Maria's own booking (made under her number): an oil change on Tuesday, December 1st at 10."""
    session = (await agent.new_session(MARIA))["session_id"]
    read_back = await agent.say(session, "I need an oil change on Tuesday December 1st at 10 in the morning")
    assert "Let me read that back" in read_back["reply"]
    booked = await agent.say(session, "yes")
    assert "confirmation code" in booked["reply"]
    code = booked["slots"]["confirmation_code"]
    assert isinstance(code, str) and len(code) == 6
    return code


async def test_a_number_is_no_proof_the_code_is(tmp_path: Path) -> None:
    """Finding 1: no caller id, "cancel my appointment", the customer's number, "yes": nothing is cancelled."""
    settings = agent_settings(tmp_path)
    async with running_agent(settings) as agent:
        code = await book_for_maria(agent)
        stranger = (await agent.new_session())["session_id"]
        asked = await agent.say(stranger, "I need to cancel my appointment")
        assert "confirmation code" in asked["reply"]
        number = await agent.say(stranger, "it's 555 014 2233")
        assert "cancel it" not in number["reply"] and "oil change" not in number["reply"]
        await agent.say(stranger, "yes")
        await agent.say(stranger, "yes cancel it")
        assert [a["status"] for a in appointments(settings.store.database_path)] == ["booked"]

        # A claimed caller id (a typed number) is a claim too.
        claimed = (await agent.new_session(MARIA))["session_id"]
        claim = await agent.say(claimed, "cancel my oil change on Tuesday")
        assert "confirmation code" in claim["reply"] and "Tuesday" not in claim["reply"]
        await agent.say(claimed, "yes")
        assert [a["status"] for a in appointments(settings.store.database_path)] == ["booked"]

        # The confirmation code is proof.
        holder = (await agent.new_session())["session_id"]
        await agent.say(holder, "I need to cancel my appointment")
        found = await agent.say(holder, " ".join(code))
        assert "oil change" in found["reply"] and "cancel it" in found["reply"]
        done = await agent.say(holder, "yes")
        assert "cancelled" in done["reply"]
        assert [a["status"] for a in appointments(settings.store.database_path)] == ["cancelled"]


async def test_a_trusted_caller_id_needs_a_detail_of_the_booking(tmp_path: Path) -> None:
    """Finding 1: a caller id from a trusted trunk (LiveKit SIP) with the booking's day or service moves it."""
    settings = agent_settings(tmp_path)
    async with running_agent(settings) as agent:
        await book_for_maria(agent)
        conversations = agent.http.app[CONVERSATIONS]
        wrong = (await conversations.start(MARIA, "voice", caller_verified=True)).session_id
        asked = await agent.say(wrong, "I need to cancel my appointment")
        assert "what day is it on" in asked["reply"]
        refused = await agent.say(wrong, "it's on Friday")
        assert "confirmation code" in refused["reply"]
        await agent.say(wrong, "yes")
        assert [a["status"] for a in appointments(settings.store.database_path)] == ["booked"]

        caller = (await conversations.start(MARIA, "voice", caller_verified=True)).session_id
        await agent.say(caller, "I need to cancel my appointment")
        found = await agent.say(caller, "it's the oil change on Tuesday")
        assert "Tuesday, December 1st" in found["reply"] and "cancel it" in found["reply"]
        done = await agent.say(caller, "yes")
        assert "cancelled" in done["reply"]
        assert [a["status"] for a in appointments(settings.store.database_path)] == ["cancelled"]


async def test_a_claimed_number_reads_back_a_first_name_and_never_overwrites_the_customer(
    tmp_path: Path,
) -> None:
    """Finding 3: booking under Maria's number as someone else leaves her record as it was; the booking
    keeps the name and e-mail given, and her surname and e-mail are never read back."""
    settings = agent_settings(tmp_path)
    async with running_agent(settings) as agent:
        session = (await agent.new_session(MARIA))["session_id"]
        read_back = await agent.say(session, "I need an oil change on Friday at 9 in the morning")
        assert "for Maria," in read_back["reply"]
        assert "Gonzalez" not in read_back["reply"] and "maria.gonzalez" not in read_back["reply"]
        assert "Gonzalez" not in str(read_back["slots"]) and "maria.gonzalez" not in str(read_back["slots"])
        renamed = await agent.say(session, "no, my name is Bob Stone, and my email is bob at example dot com")
        assert "for Bob Stone" in renamed["reply"]
        booked = await agent.say(session, "yes")
        assert "confirmation code" in booked["reply"]
        [row] = appointments(settings.store.database_path)
        assert (row["name"], row["email"]) == ("Maria Gonzalez", "maria.gonzalez@example.com")
        assert (row["contact_name"], row["contact_email"]) == ("Bob Stone", "bob@example.com")

        # Maria, calling next, is still greeted as Maria.
        again = await agent.new_session(MARIA)
        assert again["greeting"].startswith("Hi Maria, thanks")
