"""Soak: phone calls placed one after another for N minutes; are memory, file descriptors, threads and asyncio
tasks flat?

Usage: python -m benchmarks.soak [--minutes 30] [--lanes 2] [--sample-every 30]
Runs the agent in-process with its embedded SIP endpoint inside a loopback-only network namespace (it
re-executes itself under `unshare --net` when it is not in one). Each lane is a real baresip caller that
asks one question (a voice fixture over G.711), hears the answer and hangs up, then the next call starts.
Prints a sample per interval, the drift (median of the last third minus the first third, after a warm-up
of two calls) and the calls placed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.server.app import create_app
from agent.server.keys import CALL_LOG, SIP_ENDPOINT
from benchmarks.phone_calls import bench_settings, enter_loopback_namespace
from tests.integration.floods import ProcessFigures
from tests.integration.soak_calls import Soak, soak_calls

FLAT = {"rss_mib": 25.0, "fds": 2, "tasks": 1, "threads": 1}  # the most each may drift and still be "flat"


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = create_app(bench_settings(work, max_calls=4))
        runner = web.AppRunner(app)
        await runner.setup()
        endpoint: Any = app[SIP_ENDPOINT]
        try:
            await soak_calls(work / "warm", lanes=args.lanes, until=lambda soak: soak.calls >= 2)
            print(f"after warm-up: {ProcessFigures.now().line()}", flush=True)
            deadline = time.monotonic() + args.minutes * 60

            def over(soak: Soak) -> bool:
                return bool(time.monotonic() >= deadline)

            soak = await soak_calls(
                work / "soak", lanes=args.lanes, until=over, sample_every_s=args.sample_every
            )
            for _ in range(100):
                if endpoint.active_calls == 0:
                    break
                await asyncio.sleep(0.2)
            ended = ProcessFigures.now()
            records = await app[CALL_LOG].recent(limit=1000)
        finally:
            await runner.cleanup()
    drift = soak.drift()
    print(soak.table())
    print(f"after the last call: {ended.line()}")
    print(
        f"\n{args.minutes} min, {args.lanes} lanes: {soak.calls} calls completed, {soak.failed} failed;"
        f" {sum(1 for r in records if r.outcome == 'answered_question')} answered a question"
    )
    flat = all(abs(drift.get(name, 0.0)) <= limit for name, limit in FLAT.items())
    print(f"drift (last third - first third): {drift} -> {'flat' if flat else 'NOT flat'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--lanes", type=int, default=2, help="calls in progress at once")
    parser.add_argument("--sample-every", type=float, default=30.0, help="seconds between samples")
    args = parser.parse_args()
    enter_loopback_namespace("benchmarks.soak")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
