"""Capacity: caller-line voice-to-voice and the agent's stage times with 1, 2, 4 ... phone calls at once.

Usage: python -m benchmarks.concurrent_calls [--levels 1,2,4] [--gap S] [--stagger S]
Every call is a real baresip caller over G.711 on loopback playing a voice fixture (as in
benchmarks.phone_calls), N callers on the line together; all calls share the one Whisper worker and the
one TTS engine of the process, which is what limits a small server. Prints, per level, voice-to-voice on
the callers' lines, the agent's own stage times (the STT figure includes the wait for the shared worker),
the process's CPU use and its peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from agent import metrics
from agent.qa.voice_replay import VOICE_FILE
from agent.server.app import create_app
from agent.server.keys import CALL_LOG
from benchmarks.phone_calls import STAGES, bench_settings, enter_loopback_namespace, scenario_turns, summary


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one_level(
    work: Path, app: web.Application, scenarios: list[dict[str, Any]], calls: int, args: argparse.Namespace
) -> None:
    chosen = [scenarios[index % len(scenarios)] for index in range(calls)]
    before = len(await app[CALL_LOG].recent(limit=10_000))
    cpu_before, wall_before = cpu_seconds(), time.perf_counter()
    stalls_before = metrics.speech_stalls()

    async def caller(slot: int, scenario: dict[str, Any]) -> list[float]:
        await asyncio.sleep(slot * args.stagger)  # callers do not all dial in the same instant
        return await scenario_turns(
            work,
            scenario,
            args.gap,
            slot=slot,
            folder_name=f"level{calls}-{slot}-{scenario['name']}",
        )

    per_call = await asyncio.gather(*(caller(slot, s) for slot, s in enumerate(chosen)))
    cpu_used, wall = cpu_seconds() - cpu_before, time.perf_counter() - wall_before
    everything = await app[CALL_LOG].recent(limit=10_000)  # newest first
    for _ in range(100):  # the agent files a call's record a moment after the caller hangs up
        if len(everything) - before >= calls and all(record.ended_at for record in everything[:calls]):
            break
        await asyncio.sleep(0.1)
        everything = await app[CALL_LOG].recent(limit=10_000)
    records = everything[: len(everything) - before]
    agent_turns = [turn for record in records for turn in record.turns if turn.get("caller_text")]
    print(f"\n{calls} call(s) at once ({', '.join(s['name'] for s in chosen)}):")
    summary("  voice-to-voice on the callers' lines", [v for values in per_call for v in values])
    for stage in STAGES:
        summary(f"  agent {stage}", [float(turn[stage]) for turn in agent_turns])
    print(
        "  gaps in the agent's audio (a sentence ready only after the caller had heard all before it): "
        f"{metrics.speech_stalls() - stalls_before:.0f}"
    )
    print(
        f"  process CPU {cpu_used / wall:.2f} cores busy on average over {wall:.0f} s; "
        f"peak memory {peak_rss_mib():.0f} MiB"
    )


async def bench(args: argparse.Namespace) -> None:
    levels = [int(level) for level in args.levels.split(",")]
    scenarios = [
        s
        for s in yaml.safe_load(VOICE_FILE.read_text())
        if s.get("band", "clean") == "clean"
        and not any("barge_in_after_s" in t for t in s["turns"])
        and not s.get("caller_phone")  # a known number is one customer: concurrent calls would share them
    ]
    if args.conversations == "long":  # bookings only: every call talks for its whole length
        scenarios = [s for s in scenarios if len(s["turns"]) >= 3]
    scenarios.sort(key=lambda s: -len(s["turns"]))  # long conversations first, so the calls overlap
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = create_app(bench_settings(work, rtp_port_max=21400, max_calls=max(levels)))
        runner = web.AppRunner(app)
        await runner.setup()
        print(f"idle agent: peak memory {peak_rss_mib():.0f} MiB (models loaded)")
        try:
            for calls in levels:
                await one_level(work, app, scenarios, calls, args)
        finally:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="1,2,4", help="numbers of simultaneous calls, comma-separated")
    parser.add_argument("--gap", type=float, default=10.0, help="silence after each caller turn (s)")
    parser.add_argument("--stagger", type=float, default=1.5, help="seconds between callers dialling in")
    parser.add_argument(
        "--conversations",
        choices=["all", "long"],
        default="all",
        help="all clean fixture conversations, or only the bookings (3 turns or more), repeated across callers",
    )
    args = parser.parse_args()
    enter_loopback_namespace("benchmarks.concurrent_calls")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
