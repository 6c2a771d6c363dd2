"""SIP signalling edge cases against the agent's embedded endpoint, driven by SIPp on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client import REGISTRY

from agent.server.api import health
from agent.server.keys import CALL_LOG, SIP_ENDPOINT
from telephony.sip import SipEndpoint
from tests.integration.sip_agent import AGENT_PORT, KNOWN_CALLER, active_calls, sip_agent, sip_settings
from tests.integration.sip_peers import (
    Baresip,
    caller_audio,
    in_loopback_namespace,
    peers_missing,
    wait_until,
)
from tests.integration.sipp_scenarios import (
    TracedMessage,
    ack_failure,
    answer_reinvite,
    cancel,
    in_dialog,
    invite,
    pause,
    received,
    recv,
    run_uac,
    scenario,
    send,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sip,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="SIP tests run inside a loopback-only namespace (scripts/test)"
    ),
    pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}"),
]


def sample(name: str, **labels: str) -> float:
    """A Prometheus sample as GET /metrics exports it (0 before it was first counted)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def endpoint_of(app: web.Application) -> SipEndpoint:
    return cast(SipEndpoint, app[SIP_ENDPOINT])


async def health_of(app: web.Application) -> dict[str, Any]:
    """What GET /health answers right now (the handler itself, on a mocked request to this app)."""
    response = await health(make_mocked_request("GET", "/health", app=app))
    assert isinstance(response, web.Response) and response.text is not None
    body: dict[str, Any] = json.loads(response.text)
    return body


async def sipp_call(
    workdir: Path, name: str, steps: list[str], *extra: str
) -> tuple[int, list[TracedMessage]]:
    """Run one SIPp call off the event loop (the agent answers on it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    file = scenario(workdir / f"{name}.xml", name, steps)
    return await asyncio.to_thread(run_uac, workdir, file, 30, extra)


def answered_call(hold_ms: int, *extra: str, headers: tuple[str, ...] = ()) -> list[str]:
    """INVITE, 200, ACK (and the agent's re-INVITE), then `extra` steps, `hold_ms` without media, BYE."""
    return [
        send(invite(*headers), retrans_ms=500),
        recv(100, optional=True),
        recv(180, optional=True),
        recv(200),
        send(in_dialog("ACK", 1)),
        *answer_reinvite(),
        *extra,
        pause(hold_ms),
        send(in_dialog("BYE", 3), retrans_ms=500),
        recv(200),
    ]


async def test_cancel_before_answer_gets_200_and_487_and_leaves_no_call(tmp_path: Path) -> None:
    settings = sip_settings(tmp_path, sip_answer_delay_s=3)
    steps = [
        send(invite()),
        recv(100, optional=True),
        recv(180),
        pause(1000),
        send(cancel()),
        recv(200),
        recv(487),
        send(ack_failure()),
        pause(500),  # an unanswered 487 would be retransmitted within this
    ]
    async with sip_agent(settings) as app:
        code, messages = await sipp_call(tmp_path / "sipp", "cancel", steps)
        assert code == 0
        assert len(received(messages, 200, "CANCEL")) == 1
        terminated = received(messages, 487, "INVITE")
        assert len(terminated) == 1 and "Request Terminated" in terminated[0].start_line
        assert received(messages, 200, "INVITE") == []  # never answered
        await wait_until(lambda: active_calls(app) == 0, 10, "the cancelled call to go")
        await asyncio.sleep(3)  # past the answer delay: a call that wrongly survived would be answered now
        assert active_calls(app) == 0 and endpoint_of(app).answered == 0
        [missed] = await app[CALL_LOG].recent()  # it rang and was cancelled: a missed call, no session
        assert (missed.outcome, missed.ended_by, missed.channel, missed.caller_id) == (
            "missed",
            "caller",
            "sip",
            "sipp",
        )
        assert missed.answered_at is None and missed.session_id is None and missed.ended_at is not None


async def test_invite_retransmissions_create_one_call(tmp_path: Path) -> None:
    settings = sip_settings(tmp_path, media_timeout_s=10, sip_answer_delay_s=1)
    steps = [
        send(invite()),
        recv(180),
        pause(100),
        send(invite()),  # same Call-ID, branch and CSeq: a retransmission while the agent rings
        recv(180),
        pause(100),
        send(invite()),
        recv(180),
        recv(200),
        send(invite()),  # as if the 200 was lost: the agent must not take it for a new call
        recv(200),
        send(in_dialog("ACK", 1)),
        *answer_reinvite(),
        pause(2000),
        send(in_dialog("BYE", 2)),
        recv(200),
    ]
    async with sip_agent(settings) as app:
        # -nr: SIPp would take the agent's identical 180s for retransmissions and resend its INVITE each time
        code, messages = await sipp_call(tmp_path / "sipp", "retransmit", steps, "-nr")
        assert code == 0
        assert len(received(messages, 180, "INVITE")) == 3  # each copy while ringing: the last 180 again
        answers = received(messages, 200, "INVITE")
        assert len(answers) == 2  # the 200 and its timer retransmission; the copy after it was absorbed
        assert len({answer.headers["to"] for answer in answers}) == 1  # one dialog
        await wait_until(lambda: active_calls(app) == 0, 10, "the call to end")
        assert endpoint_of(app).answered == 1
        assert len(await app[CALL_LOG].recent()) == 1


async def test_call_over_the_cap_gets_503_with_retry_after_while_the_first_carries_on(
    tmp_path: Path,
) -> None:
    settings = sip_settings(tmp_path, max_calls=1, busy_retry_after_s=45, media_timeout_s=10)
    refused_steps = [
        send(invite()),
        recv(100, optional=True),
        recv(180, optional=True),
        recv(503),
        send(ack_failure()),
        pause(500),
    ]
    async with sip_agent(settings) as app:
        wav = caller_audio(tmp_path / "silence.wav", [(20.0, None)])
        caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), wav=wav)
        caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
        refused_before = sample("agent_calls_refused_busy_total", channel="sip")
        ended_before = sample("agent_calls_total", channel="sip", outcome="abandoned", ended_by="caller")
        try:
            await wait_until(lambda: active_calls(app) == 1, 15, "the first call to be answered")
            await wait_until(lambda: sample("agent_calls_active", channel="sip") == 1, 10, "the call counted")
            code, messages = await sipp_call(tmp_path / "refused", "refused", refused_steps)
            assert code == 0
            busy = received(messages, 503, "INVITE")
            assert len(busy) == 1 and "Service Unavailable" in busy[0].start_line
            assert busy[0].headers.get("retry-after") == "45"
            await asyncio.sleep(1)
            assert active_calls(app) == 1  # the first call carries on
            health = await health_of(app)
            assert health["sip"] == {"active_calls": 1, "max_calls": 1, "answered": 1, "refused_busy": 1}
            assert sample("agent_calls_refused_busy_total", channel="sip") == refused_before + 1  # /metrics
            assert "Call established" in caller.log and "terminate" not in caller.log
            caller.command("/hangup")  # baresip logs "terminate call", not "terminated", for its own hang-up
            await wait_until(lambda: active_calls(app) == 0, 10, "the first call to be freed")
            assert "terminate call" in caller.log
            assert sample("agent_calls_active", channel="sip") == 0
            assert sample("agent_calls_total", channel="sip", outcome="abandoned", ended_by="caller") == (
                ended_before + 1
            )
        finally:
            caller.stop()
        code, messages = await sipp_call(tmp_path / "after", "after", answered_call(1000))
        assert code == 0 and len(received(messages, 200, "INVITE")) == 1
        await wait_until(lambda: active_calls(app) == 0, 10, "the second call to end")
        assert endpoint_of(app).refused == 1 and endpoint_of(app).answered == 2
        assert len(await app[CALL_LOG].recent()) == 2  # the refused call left no row


async def test_sip_info_dtmf_zero_asks_for_a_person(tmp_path: Path) -> None:
    settings = sip_settings(tmp_path, media_timeout_s=15, sip_trusted_peers=("127.0.0.1",))  # SIPp: the trunk
    info = in_dialog("INFO", 2, content_type="application/dtmf-relay", body="Signal=0\nDuration=160")
    # a trunk's identity for the caller, its header name in lower case (names are case-insensitive)
    pai = f'p-asserted-identity: "Maria" <sip:{KNOWN_CALLER}@trunk.example;user=phone>'
    steps = answered_call(3000, pause(1000), send(info, retrans_ms=500), recv(200), headers=(pai,))
    async with sip_agent(settings) as app:
        code, messages = await sipp_call(tmp_path / "sipp", "info", steps)
        assert code == 0 and len(received(messages, 200, "INFO")) == 1
        await wait_until(lambda: active_calls(app) == 0, 10, "the call to end")
        record = (await app[CALL_LOG].recent())[0]
        said = [line.text for line in record.transcript if line.role == "caller"]
        assert "I'd like to speak to a person" in said
        assert record.caller_id == KNOWN_CALLER  # a trusted trunk's P-Asserted-Identity wins over From (sipp)
