"""Per-turn time of a brain, measured by the HTTP client, with task success: the dialog scenario suite and
the typed caller corpus. Prints p50/p95 over all turns and over the turns the LLM took part in.

Usage: python -m benchmarks.brain_turns [--brain offline|llm] [--suite scenarios|corpus|both] [--repeat N]
           [--llm-url URL] [--label TEXT]
The LLM brain needs an OpenAI-compatible server (scripts/llm-server starts the local one).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from agent.config import Settings
from agent.log import configure_logging
from agent.qa.corpus_channels import play_typed
from agent.qa.corpus_manifest import load_corpus
from agent.qa.dialog_scenarios import appointment_rows, check_appointments, load_scenarios, run_scenario
from agent.server.app import create_app

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/Chicago"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Tally:
    """One suite's figures: conversations passed, every turn's client time, which turns the LLM touched."""

    passed: int = 0
    failed: int = 0
    fallbacks: int = 0
    client_ms: list[float] = field(default_factory=list)
    llm_ms: list[float] = field(default_factory=list)

    def add(self, passed: bool, client_ms: list[float], llm_turns: list[bool], fallbacks: int) -> None:
        self.passed += passed
        self.failed += not passed
        self.fallbacks += fallbacks
        self.client_ms += client_ms
        self.llm_ms += [ms for ms, by_llm in zip(client_ms, llm_turns, strict=True) if by_llm]

    def print(self, suite: str, label: str) -> None:
        turns = len(self.client_ms)
        print(
            f"{label} | {suite}: passed {self.passed}/{self.passed + self.failed}, turns {turns}, "
            f"LLM took part in {len(self.llm_ms)}, offline fallbacks {self.fallbacks}"
        )
        print(
            f"  client ms per turn: p50={percentile(self.client_ms, 0.5):.0f} "
            f"p95={percentile(self.client_ms, 0.95):.0f} mean={statistics.fmean(self.client_ms):.0f} "
            f"max={max(self.client_ms):.0f}"
        )
        if self.llm_ms:
            print(
                f"  turns the LLM took part in: p50={percentile(self.llm_ms, 0.5):.0f} "
                f"p95={percentile(self.llm_ms, 0.95):.0f} max={max(self.llm_ms):.0f}"
            )


def brain_settings(brain: str, llm_url: str) -> dict[str, Any]:
    return {"brain": brain, "llm_base_url": llm_url, "llm_timeout_s": 30.0}


async def scenarios(brain: str, llm_url: str, repeat: int) -> Tally:
    tally = Tally()
    for round_no in range(repeat):
        for scenario in load_scenarios():
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings(
                    database_path=Path(tmp) / "bench.db",
                    escalation_min_s=0.2,
                    escalation_max_s=0.5,
                    escalation_seed=round_no,
                    rate_limit_per_s=1e6,
                    rate_limit_burst=1_000_000,
                    log_level="error",
                    **brain_settings(brain, llm_url),
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
            fallbacks = result.understood_by.count("offline-fallback")
            tally.add(result.passed, result.client_ms, result.llm_turns, fallbacks)
            if not result.passed:
                print(f"  FAILED {scenario['name']}: {result.failures[0]}")
    return tally


async def corpus(brain: str, llm_url: str) -> Tally:
    tally = Tally()
    for conversation in load_corpus().conversations:
        outcome = await play_typed(conversation, brain_settings(brain, llm_url))
        tally.add(outcome.passed, outcome.client_ms, outcome.llm_turns, outcome.fallbacks)
        if not outcome.passed:
            print(f"  FAILED {conversation.name}: {outcome.failures[0]}")
    return tally


async def bench(args: argparse.Namespace) -> None:
    label = args.label or args.brain
    if args.suite in ("scenarios", "both"):
        (await scenarios(args.brain, args.llm_url, args.repeat)).print("dialog scenarios", label)
    if args.suite in ("corpus", "both"):
        (await corpus(args.brain, args.llm_url)).print("typed caller corpus", label)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--brain", choices=["offline", "llm"], default="offline")
    parser.add_argument("--suite", choices=["scenarios", "corpus", "both"], default="scenarios")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--llm-url", default="http://127.0.0.1:8765/v1")
    parser.add_argument("--label", default="", help="names the configuration in the printed figures")
    args = parser.parse_args()
    configure_logging("error")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
