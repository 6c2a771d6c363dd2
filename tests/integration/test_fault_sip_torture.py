"""Faults: the 49 RFC 4475 torture messages against the embedded SIP endpoint, over UDP as they ostensibly
arrived: no invalid request answered 2xx, a final response to every valid one, and the endpoint still takes
calls afterwards."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from pathlib import Path

import pytest

from tests.integration.sip_agent import AGENT_PORT, sip_agent, sip_settings
from tests.integration.sip_peers import in_loopback_namespace, peers_missing
from tests.integration.sipp_scenarios import received
from tests.integration.test_sip_signalling import answered_call, sipp_call
from tests.sip_torture import INVALID, MESSAGES, RESPONSES, VALID

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sip,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="SIP tests run inside a loopback-only namespace (scripts/test)"
    ),
    pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}"),
]
SOURCE = "127.0.0.2"  # the torture peer: RFC 4475's Via hosts do not resolve, so replies go to the source


def call_id(message: bytes) -> bytes:
    found = re.search(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", message, re.MULTILINE | re.IGNORECASE)
    return found.group(1) if found else b"no-call-id"


def statuses_by_message(
    sockets: list[socket.socket], sent: dict[bytes, str], wait_s: float
) -> dict[str, set[int]]:
    """Every status that came back, by the message it answered (matched on Call-ID; insuf has none)."""
    found: dict[str, set[int]] = {}
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for sock in sockets:
            try:
                packet = sock.recv(65535)
            except BlockingIOError:
                continue
            status = re.match(rb"SIP/2\.0 (\d{3}) ", packet)
            if status:
                found.setdefault(sent.get(call_id(packet), "insuf"), set()).add(int(status.group(1)))
        time.sleep(0.005)
    return found


def send_all(names: list[str]) -> dict[str, set[int]]:
    """Send each message from SOURCE:5060 (the port RFC 4475's Vias imply; quotbal's says 5050)."""
    sockets = []
    for port in (5060, 5050):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((SOURCE, port))
        sock.setblocking(False)
        sockets.append(sock)
    try:
        sent: dict[bytes, str] = {}
        for name in names:
            message = (MESSAGES / f"{name}.dat").read_bytes()
            sent[call_id(message)] = name
            sockets[0].sendto(message, ("127.0.0.1", AGENT_PORT))
            time.sleep(0.1)
        return statuses_by_message(sockets, sent, wait_s=6.0)
    finally:
        for sock in sockets:
            sock.close()


async def test_rfc4475_torture_messages_no_invalid_request_accepted_every_valid_one_answered(
    tmp_path: Path,
) -> None:
    assert sorted(VALID + INVALID + RESPONSES) == sorted(path.stem for path in MESSAGES.glob("*.dat"))
    settings = sip_settings(tmp_path, max_calls=20, media_timeout_s=3)
    async with sip_agent(settings) as app:
        answers = await asyncio.to_thread(send_all, sorted(VALID + INVALID + RESPONSES))
        accepted = sorted(name for name in INVALID if any(200 <= s < 300 for s in answers.get(name, ())))
        unanswered = sorted(name for name in VALID if not any(s >= 200 for s in answers.get(name, ())))
        print(  # the README's figure
            f"\nRFC 4475 over UDP: {len(INVALID)} invalid requests, {len(accepted)} answered 2xx {accepted};"
            f" {len(VALID)} valid requests, {len(VALID) - len(unanswered)} with a final response;"
            f" {sum(1 for name in RESPONSES if name in answers)} of {len(RESPONSES)} responses answered"
        )
        for name in sorted(answers):
            print(f"  {name}: {sorted(answers[name])}")
        assert accepted == []
        assert unanswered == []
        assert not any(name in answers for name in RESPONSES)
        code, messages = await sipp_call(tmp_path / "after", "after", answered_call(500))
        assert code == 0 and len(received(messages, 200, "INVITE")) == 1  # still taking calls
        assert app is not None
