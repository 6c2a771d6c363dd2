"""Per-turn processing time of each brain over the dialog scenario suite (p50/p95), printed as a table.

Usage: python -m benchmarks.brain_turns [--brain offline|llm] [--repeat N] [--llm-url URL]
The LLM brain needs an OpenAI-compatible server (scripts/llm-server starts the local one).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from agent.config import Settings
from agent.log import configure_logging
from agent.qa.dialog_scenarios import appointment_rows, check_appointments, load_scenarios, run_scenario
from agent.server.app import create_app

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/Chicago"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def bench(brain: str, repeat: int, llm_url: str) -> None:
    scenarios = load_scenarios()
    timings: list[float] = []
    passed = failed = fallbacks = 0
    for round_no in range(repeat):
        for scenario in scenarios:
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings(
                    database_path=Path(tmp) / "bench.db",
                    brain=brain,
                    llm_base_url=llm_url,
                    escalation_min_s=0.2,
                    escalation_max_s=0.5,
                    escalation_seed=round_no,
                    rate_limit_per_s=1e6,
                    rate_limit_burst=1_000_000,
                    log_level="error",
                )
                runner = web.AppRunner(create_app(settings, clock=lambda: NOW))
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                port = runner.addresses[0][1]
                try:
                    async with aiohttp.ClientSession() as http:
                        result = await run_scenario(http, f"http://127.0.0.1:{port}", scenario)
                    check_appointments(scenario, appointment_rows(settings.store.database_path), result)
                finally:
                    await runner.cleanup()
            timings.extend(result.turn_ms)
            fallbacks += sum(source == "offline-fallback" for source in result.understood_by)
            passed += result.passed
            failed += not result.passed
            if not result.passed:
                print(f"  FAILED {scenario['name']}: {result.failures[0]}")
    print(
        f"brain={brain} scenarios passed={passed} failed={failed} turns={len(timings)} "
        f"turns answered by the offline fallback={fallbacks}"
    )
    print(
        f"  per-turn processing ms: p50={percentile(timings, 0.5):.1f} p95={percentile(timings, 0.95):.1f} "
        f"mean={statistics.fmean(timings):.1f} max={max(timings):.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brain", choices=["offline", "llm"], default="offline")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--llm-url", default="http://127.0.0.1:8765/v1")
    args = parser.parse_args()
    configure_logging("error")
    asyncio.run(bench(args.brain, args.repeat, args.llm_url))


if __name__ == "__main__":
    main()
