"""The scenario suite through the HTTP API with the offline brain, on a real SQLite file and a real Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent.qa.dialog_scenarios import appointment_rows, check_appointments, load_scenarios, run_scenario
from tests.integration.agent_harness import agent_settings, running_agent

pytestmark = pytest.mark.integration

SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
async def test_offline_brain_scenario(scenario: dict[str, Any], tmp_path: Path, redis_url: str) -> None:
    settings = agent_settings(tmp_path, state_backend="redis", redis_url=redis_url)
    async with running_agent(settings) as agent, aiohttp.ClientSession() as http:
        base_url = str(agent.http.make_url("")).rstrip("/")
        result = await run_scenario(http, base_url, scenario, notification_timeout_s=10)
        check_appointments(scenario, appointment_rows(settings.store.database_path), result)
    transcript = "\n".join(f"  caller: {said}\n  agent:  {reply}" for said, reply in result.transcript)
    assert result.passed, "\n".join(result.failures) + "\n" + transcript
