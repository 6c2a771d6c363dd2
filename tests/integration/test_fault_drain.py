"""Faults: SIGTERM drains a real `python -m agent serve` (no new calls, the call in progress finishes, exit 0);
SIGKILL mid-call leaves the call's row with what was said so far."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.integration.served_agent import ServedAgent, serve_environment, served_agent
from tests.integration.sip_agent import AGENT_PORT
from tests.integration.sip_peers import (
    Baresip,
    caller_audio,
    in_loopback_namespace,
    peers_missing,
    wait_until,
)
from tests.integration.sipp_scenarios import ack_failure, invite, pause, recv, run_uac, scenario, send

pytestmark = [pytest.mark.integration]
SIP_MARKS = (
    pytest.mark.sip,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="SIP tests run inside a loopback-only namespace (scripts/test)"
    ),
    pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}"),
)
DOCKER_STOP_TIMEOUT_S = 10  # `docker stop` without a grace period: SIGKILL this long after SIGTERM


def sip_environment(work: Path, **settings: str) -> dict[str, str]:
    return serve_environment(
        work,
        SIP_ENABLED="true",
        SIP_PORT=str(AGENT_PORT),
        RTP_PORT_MIN="21000",
        RTP_PORT_MAX="21100",
        MEDIA_TIMEOUT_S="5",
        **settings,
    )


async def sip_calls(agent: ServedAgent) -> int:
    _, body = await agent.health()
    return int(body.get("sip", {}).get("active_calls", 0))


async def closing_code(events: aiohttp.ClientWebSocketResponse, timeout_s: float) -> int | None:
    """Read the event stream until the server closes it: the close code it sent (None: it stayed open;
    1006: the connection dropped without a close)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await events.receive()
                if message.type == aiohttp.WSMsgType.CLOSE:
                    return int(message.data)
                if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return 1006
    except TimeoutError:
        return None


def sip_test(test: Callable[[Path], Awaitable[None]]) -> Callable[[Path], Awaitable[None]]:
    for mark in SIP_MARKS:
        test = mark(test)
    return test


async def test_sigterm_with_an_open_event_stream_exits_zero_before_docker_would_kill(tmp_path: Path) -> None:
    async with served_agent(tmp_path, serve_environment(tmp_path)) as agent:
        session = await agent.new_session()
        events = await agent.http.ws_connect(agent.url(f"/ws/{session}"))
        signalled = time.monotonic()
        agent.signal(signal.SIGTERM)
        code = await agent.exit_code(DOCKER_STOP_TIMEOUT_S)
        print(f"\nSIGTERM with an event stream open: exit {code} after {time.monotonic() - signalled:.1f} s")
        assert code == 0, f"still running {DOCKER_STOP_TIMEOUT_S} s after SIGTERM (Docker kills it then)"
        assert await closing_code(events, 5) == 1001  # going away: the console reconnects elsewhere


@sip_test
async def test_sigterm_refuses_new_work_lets_the_call_finish_saves_it_and_exits_zero(tmp_path: Path) -> None:
    environment = sip_environment(tmp_path / "agent", DRAIN_TIMEOUT_S="30")
    # The caller asks one question 3 s into the call and hangs up 12 s after it (baresip's file ends).
    wav = caller_audio(tmp_path / "caller.wav", [(3.0, "audio/location/01.wav")], tail_s=12)
    caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), wav=wav)
    async with served_agent(tmp_path / "agent", environment) as agent:
        session = await agent.new_session()
        events = await agent.http.ws_connect(agent.url(f"/ws/{session}"))
        caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
        try:
            for _attempt in range(150):
                if await sip_calls(agent) == 1:
                    break
                await asyncio.sleep(0.1)
            assert await sip_calls(agent) == 1, "the call was not answered"
            signalled = time.monotonic()
            agent.signal(signal.SIGTERM)
            await wait_draining(agent)
            async with agent.http.post(agent.url("/api/sessions"), json={}) as response:
                assert response.status == 503 and response.headers["Retry-After"].isdigit()
                assert (await response.json())["error"]["code"] == "draining"
            chat = {"session_id": session, "message": "what are your service hours"}
            async with agent.http.post(agent.url("/api/chat"), json=chat) as response:
                assert response.status == 200  # a conversation under way is served to its end
            refused = await refused_invite(tmp_path / "sipp")
            assert refused == [503]
            await caller.wait_calls_ended(1, 40)  # the caller hung up when done: the drain did not cut it
            call_over = time.monotonic()
        finally:
            caller.stop()
        code = await agent.exit_code(15)
        print(
            f"\nSIGTERM mid-call: the call went on {call_over - signalled:.1f} s to its end,"
            f" exit {code} {time.monotonic() - call_over:.1f} s later"
        )
        assert code == 0
        assert await closing_code(events, 5) == 1001
        [call] = agent.rows("SELECT * FROM calls")
        assert (call["outcome"], call["ended_by"]) == ("answered_question", "caller")
        said = " ".join(line["text"] for line in json.loads(call["transcript_json"]))
        assert "locat" in said.lower()
        assert call["recording_path"] and Path(call["recording_path"]).stat().st_size > 8000
        assert "drain_finished" in agent.log_text()


@sip_test
async def test_a_killed_process_leaves_the_call_row_with_the_turns_so_far(tmp_path: Path) -> None:
    wav = caller_audio(tmp_path / "caller.wav", [(3.0, "audio/location/01.wav")], tail_s=40)
    caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), wav=wav)
    async with served_agent(tmp_path / "agent", sip_environment(tmp_path / "agent")) as agent:
        caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
        try:

            def turn_saved() -> bool:
                rows = agent.rows("SELECT transcript_json FROM calls")
                return bool(rows) and "locat" in rows[0]["transcript_json"].lower()

            await wait_until(turn_saved, 40, "the caller's question in the call's row during the call")
            agent.signal(signal.SIGKILL)
            assert await agent.exit_code(10) == -signal.SIGKILL
        finally:
            caller.stop()
        [call] = agent.rows("SELECT * FROM calls")
        assert call["session_id"] and call["answered_at"] and call["ended_at"] is None
        lines = json.loads(call["transcript_json"])
        assert [line["role"] for line in lines[:3]] == [
            "agent",
            "caller",
            "agent",
        ]  # greeting, question, answer
        assert json.loads(call["turns_json"])[0]["caller_text"]


async def wait_draining(agent: ServedAgent) -> None:
    for _attempt in range(50):
        status, body = await agent.health()
        if status == 503 and body.get("error", {}).get("code") == "draining":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the agent never reported draining after SIGTERM")


async def refused_invite(work: Path) -> list[int]:
    """One SIPp INVITE; the final statuses it got (503 expected while draining)."""
    work.mkdir(parents=True, exist_ok=True)
    steps = [
        send(invite()),
        recv(100, optional=True),
        recv(180, optional=True),
        recv(503),
        send(ack_failure()),
        pause(300),
    ]
    file = scenario(work / "refused.xml", "refused", steps)
    code, messages = await asyncio.to_thread(run_uac, work, file, 15, ())
    return [m.status or 0 for m in messages if not m.sent and (m.status or 0) >= 200] if code == 0 else [code]
