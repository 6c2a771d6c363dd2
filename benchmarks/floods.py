"""Floods: an INVITE flood from one address while legitimate calls come from another; an HTTP + WebSocket
flood from one client while another is served.

Usage: python -m benchmarks.floods [--rate 300] [--seconds 10] [--calls 10] [--http-seconds 30]
Inside a loopback-only network namespace (re-executes itself under `unshare --net` when not in one): the
flood comes from 127.0.0.2, the legitimate SIPp calls (INVITE, 200, ACK, 0.8 s, BYE, two at a time) and
the legitimate chat client from 127.0.0.1. The SIP part runs the agent in-process (its tasks are counted);
the HTTP part runs `python -m agent serve` with the default rate limits.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.server.app import create_app
from agent.server.keys import SIP_ENDPOINT
from benchmarks.phone_calls import bench_settings, enter_loopback_namespace
from tests.integration.floods import (
    FLOOD_ADDRESS,
    ProcessFigures,
    http_flood,
    invite_flood,
    legitimate_calls,
    served_meanwhile,
)
from tests.integration.served_agent import serve_environment, served_agent
from tests.integration.test_sip_signalling import answered_call


async def sip_part(work: Path, args: argparse.Namespace) -> None:
    app = create_app(bench_settings(work, max_calls=5, sip_max_calls_per_source=2, media_timeout_s=10))
    runner = web.AppRunner(app)
    await runner.setup()
    endpoint: Any = app[SIP_ENDPOINT]
    try:
        await asyncio.sleep(0.5)
        before = ProcessFigures.now()
        flood = asyncio.create_task(invite_flood(work / "flood", args.rate, args.seconds))
        await asyncio.sleep(1.0)
        answered, attempted = await legitimate_calls(work / "legit", answered_call(800), calls=args.calls)
        sent = await flood
        for _ in range(300):
            if endpoint.active_calls == 0:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        after = ProcessFigures.now()
    finally:
        await runner.cleanup()
    print(f"INVITE flood: {sent} INVITEs from {FLOOD_ADDRESS} at {args.rate}/s for {args.seconds:.0f} s")
    print(f"  legitimate calls answered {answered}/{attempted}; pre-filter answered {endpoint.screened}")
    print(f"  before: {before.line()}\n  after:  {after.line()}")


async def http_part(work: Path, args: argparse.Namespace) -> None:
    limits = {"RATE_LIMIT_PER_S": "5", "RATE_LIMIT_BURST": "30"}  # the defaults (the helper lifts them)
    async with served_agent(work / "http", serve_environment(work / "http", **limits)) as agent:
        rss, fds = agent.rss_kib() / 1024, agent.open_fds()
        flooding = asyncio.create_task(http_flood(agent.base_url, args.http_seconds, source=FLOOD_ADDRESS))
        await asyncio.sleep(0.5)
        answered, tried, events = await served_meanwhile(agent.base_url, until=flooding.done)
        flood = await flooding
        await asyncio.sleep(2)
        status, _ = await agent.health()
        print(
            f"HTTP + WebSocket flood for {args.http_seconds:.0f} s from {FLOOD_ADDRESS}: {flood.requests} requests"
        )
        print(
            f"  answers {flood.statuses}; WebSockets: {flood.sockets_opened} held,"
            f" refused {flood.sockets_refused}; {flood.errors} client errors"
        )
        print(f"  legitimate client: {answered}/{tried} turns answered, {events} events; /health {status}")
        print(f"  agent RSS {rss:.0f} -> {agent.rss_kib() / 1024:.0f} MiB, fds {fds} -> {agent.open_fds()}")


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await sip_part(Path(tmp) / "sip", args)
        await http_part(Path(tmp), args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=300, help="flood INVITEs per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--calls", type=int, default=10, help="legitimate calls during the flood")
    parser.add_argument("--http-seconds", type=float, default=30.0)
    args = parser.parse_args()
    enter_loopback_namespace("benchmarks.floods")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
