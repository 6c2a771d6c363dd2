"""Soak, short: calls one after another on two lanes; afterwards the agent holds no more tasks, file
descriptors or memory than before them. `python -m benchmarks.soak --minutes 30` is the long run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.server.keys import CALL_LOG
from tests.integration.floods import ProcessFigures
from tests.integration.sip_agent import active_calls, sip_agent, sip_settings
from tests.integration.sip_peers import in_loopback_namespace, peers_missing, wait_until
from tests.integration.soak_calls import soak_calls

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sip,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="SIP tests run inside a loopback-only namespace (scripts/test)"
    ),
    pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}"),
]


async def test_calls_one_after_another_leave_tasks_fds_and_memory_where_they_were(tmp_path: Path) -> None:
    settings = sip_settings(tmp_path, max_calls=4, media_timeout_s=10)
    async with sip_agent(settings) as app:
        await soak_calls(
            tmp_path / "warm", lanes=2, until=lambda soak: soak.calls >= 2
        )  # first use of models
        await wait_until(lambda: active_calls(app) == 0, 20, "the warm-up calls to end")
        before = ProcessFigures.now()
        soak = await soak_calls(tmp_path / "soak", lanes=2, until=lambda s: s.calls >= 8, sample_every_s=5)
        await wait_until(lambda: active_calls(app) == 0, 20, "the calls to end")
        await asyncio.sleep(1)
        after = ProcessFigures.now()
        records = await app[CALL_LOG].recent()
        print(f"\nsoak: {soak.calls} calls; before {before.line()}; after {after.line()}\n{soak.table()}")
    assert soak.failed == 0 and soak.calls >= 8
    assert sum(1 for record in records if record.outcome == "answered_question" and record.ended_at) >= 10
    assert after.tasks <= before.tasks and after.fds <= before.fds + 2
    assert after.rss_mib < before.rss_mib + 40
