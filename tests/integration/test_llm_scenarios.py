"""The scenario suite with the LLM brain against the local llama.cpp server, and what only the model adds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent.qa.dialog_scenarios import appointment_rows, check_appointments, load_scenarios, run_scenario
from tests.integration.agent_harness import agent_settings, running_agent

pytestmark = [pytest.mark.integration, pytest.mark.llm]

SCENARIOS = load_scenarios()
# The first request to a fresh server evaluates the agent's ~3,000-token prompt prefix (about a minute on 2
# cores, longer while other tests run) behind the agent's own warm-up: a turn may wait that long once, and a
# timeout would be a fallback, which these tests refuse.
TIMEOUT_S = 300


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
async def test_llm_brain_scenario(scenario: dict[str, Any], tmp_path: Path, llm_base_url: str) -> None:
    settings = agent_settings(tmp_path, brain="llm", llm_base_url=llm_base_url, llm_timeout_s=TIMEOUT_S)
    async with running_agent(settings) as agent, aiohttp.ClientSession() as http:
        base_url = str(agent.http.make_url("")).rstrip("/")
        result = await run_scenario(http, base_url, scenario, notification_timeout_s=10)
        check_appointments(scenario, appointment_rows(settings.store.database_path), result)
    transcript = "\n".join(f"  caller: {said}\n  agent:  {reply}" for said, reply in result.transcript)
    assert result.passed, "\n".join(result.failures) + "\n" + transcript
    # A model that could not answer would pass on the offline brain's fallback: that proves nothing.
    assert "offline-fallback" not in result.understood_by, result.understood_by


async def _service_heard(tmp_path: Path, brain: str, llm_base_url: str) -> dict[str, Any]:
    settings = agent_settings(
        tmp_path / brain, brain=brain, llm_base_url=llm_base_url, llm_timeout_s=TIMEOUT_S
    )
    async with running_agent(settings) as agent:
        session = await (await agent.http.post("/api/sessions", json={})).json()
        turn = {"session_id": session["session_id"], "message": "I need to bring my car in for service."}
        await (await agent.http.post("/api/chat", json=turn)).json()
        turn["message"] = "The air blowing out the vents is warm even on max cold."
        body: dict[str, Any] = await (await agent.http.post("/api/chat", json=turn)).json()
        return body


async def test_the_model_hears_a_service_our_parsers_do_not_and_is_credited(
    tmp_path: Path, llm_base_url: str
) -> None:
    offline = await _service_heard(tmp_path, "offline", llm_base_url)
    assert offline["slots"]["service_type"] is None  # the offline brain asks again
    body = await _service_heard(tmp_path, "llm", llm_base_url)
    assert (
        body["slots"]["service_type"] is not None and "Air conditioning" in body["slots"]["service_type"]
    ), body
    assert body["slots_found_by"]["service"] == "llm" and body["understood_by"] == "llm", body


async def test_a_question_the_data_does_not_hold_gets_no_invented_price(
    tmp_path: Path, llm_base_url: str
) -> None:
    settings = agent_settings(tmp_path, brain="llm", llm_base_url=llm_base_url, llm_timeout_s=TIMEOUT_S)
    async with running_agent(settings) as agent:
        session = await (await agent.http.post("/api/sessions", json={})).json()
        for question in (
            "How much would you charge to paint my car purple?",
            "What is the manager's favourite ice cream flavour?",
        ):
            turn = {"session_id": session["session_id"], "message": question}
            body = await (await agent.http.post("/api/chat", json=turn)).json()
            assert not re.search(r"\d|dollar|vanilla|chocolate", body["reply"], re.I), body["reply"]
            assert body["understood_by"] != "offline-fallback", body
