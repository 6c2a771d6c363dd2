"""Faults: an INVITE flood from one address while legitimate calls come from another (SIPp on two loopback
addresses), and an HTTP + WebSocket flood from one client while another is served (a real agent process).
Short versions; `python -m benchmarks.floods` runs the long ones and prints the README's figures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.floods import (
    FLOOD_ADDRESS,
    ProcessFigures,
    http_flood,
    invite_flood,
    legitimate_calls,
    served_meanwhile,
)
from tests.integration.served_agent import serve_environment, served_agent
from tests.integration.sip_agent import active_calls, sip_agent, sip_settings
from tests.integration.sip_peers import in_loopback_namespace, peers_missing, wait_until
from tests.integration.test_sip_signalling import answered_call, endpoint_of

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="flood tests run inside a loopback-only namespace (scripts/test)"
    ),
]
FLOOD_RATE_PER_S = 300
FLOOD_S = 8.0  # the benchmark floods for 10 s


@pytest.mark.sip
@pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}")
async def test_legitimate_calls_are_answered_through_an_invite_flood_from_another_address(
    tmp_path: Path,
) -> None:
    settings = sip_settings(tmp_path, max_calls=5, sip_max_calls_per_source=2, media_timeout_s=10)
    async with sip_agent(settings) as app:
        await asyncio.sleep(0.5)
        before = ProcessFigures.now()
        flood = asyncio.create_task(invite_flood(tmp_path / "flood", FLOOD_RATE_PER_S, FLOOD_S))
        await asyncio.sleep(0.5)  # the flood is under way when the callers dial
        answered, attempted = await legitimate_calls(tmp_path / "legit", answered_call(800), calls=10)
        sent = await flood
        await wait_until(lambda: active_calls(app) == 0, 30, "every call, flood and legitimate, to end")
        await asyncio.sleep(1)
        after = ProcessFigures.now()
        print(
            f"\nINVITE flood: {sent} INVITEs from {FLOOD_ADDRESS} in {FLOOD_S:.0f} s;"
            f" legitimate calls answered {answered}/{attempted}; pre-filter {endpoint_of(app).screened};"
            f" before {before.line()}; after {after.line()}"
        )
    assert sent >= FLOOD_RATE_PER_S * FLOOD_S * 0.5  # it was a flood
    assert (answered, attempted) == (10, 10)
    assert after.tasks <= before.tasks and after.fds <= before.fds + 5
    assert after.rss_mib < before.rss_mib + 60


async def test_the_process_stays_up_and_serves_others_through_an_http_and_websocket_flood(
    tmp_path: Path,
) -> None:
    environment = serve_environment(tmp_path, RATE_LIMIT_PER_S="5", RATE_LIMIT_BURST="30")
    async with served_agent(tmp_path, environment) as agent:
        rss_before, fds_before = agent.rss_kib() / 1024, agent.open_fds()
        flooding = asyncio.create_task(http_flood(agent.base_url, 6.0, source=FLOOD_ADDRESS, concurrency=40))
        await asyncio.sleep(0.5)
        answered, tried, events = await served_meanwhile(agent.base_url, until=flooding.done)
        flood = await flooding
        await asyncio.sleep(2)
        status, _ = await agent.health()
        rss_after, fds_after = agent.rss_kib() / 1024, agent.open_fds()
        print(
            f"\nHTTP flood: {flood.requests} requests ({flood.statuses}), {flood.sockets_opened} WebSockets held"
            f" ({flood.sockets_refused} refused),"
            f" {flood.errors} client errors; legitimate turns answered {answered}/{tried}, {events} events;"
            f" agent RSS {rss_before:.0f} -> {rss_after:.0f} MiB, fds {fds_before} -> {fds_after}"
        )
    assert agent.process.returncode is None or agent.process.returncode == -9  # up until we stopped it
    assert status == 200
    assert flood.statuses and flood.statuses.get(429, 0) > 0  # the flood met the rate limit
    assert tried >= 5 and answered == tried  # every legitimate turn answered, none turned away
    assert events >= answered  # its event stream kept up
    assert fds_after <= fds_before + 10
