"""The same scenario suite with the LLM brain, against the local OpenAI-compatible llama.cpp server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent.qa.dialog_scenarios import appointment_rows, check_appointments, load_scenarios, run_scenario
from tests.integration.agent_harness import agent_settings, running_agent

pytestmark = [pytest.mark.integration, pytest.mark.llm]

SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
async def test_llm_brain_scenario(scenario: dict[str, Any], tmp_path: Path, llm_base_url: str) -> None:
    settings = agent_settings(tmp_path, brain="llm", llm_base_url=llm_base_url, llm_timeout_s=60)
    async with running_agent(settings) as agent, aiohttp.ClientSession() as http:
        base_url = str(agent.http.make_url("")).rstrip("/")
        result = await run_scenario(http, base_url, scenario, notification_timeout_s=10)
        check_appointments(scenario, appointment_rows(settings.store.database_path), result)
    transcript = "\n".join(f"  caller: {said}\n  agent:  {reply}" for said, reply in result.transcript)
    assert result.passed, "\n".join(result.failures) + "\n" + transcript
    # Passing by falling back to the offline brain would prove nothing about the LLM brain.
    assert set(result.understood_by) == {"llm"}, result.understood_by
