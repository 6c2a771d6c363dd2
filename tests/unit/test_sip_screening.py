"""The SIP pre-filter's decisions without a stack: RFC 4475's messages, RFC 2543 mending, INVITE floods."""

from __future__ import annotations

import pytest

from telephony.sip_admission import Admitted, Screen
from telephony.sip_screening import parse_request
from tests.sip_torture import INVALID, MESSAGES, RESPONSES, VALID

pytestmark = pytest.mark.unit


def invite(call: int, *, to_tag: str = "") -> bytes:
    lines = [
        "INVITE sip:agent@127.0.0.1:5070 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-{call}",
        f"From: <sip:flood@127.0.0.2>;tag=f{call}",
        f"To: <sip:agent@127.0.0.1>{to_tag}",
        f"Call-ID: call-{call}@127.0.0.2",
        "CSeq: 1 INVITE",
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("name", INVALID)
def test_each_invalid_rfc4475_request_is_answered_with_an_error(name: str) -> None:
    verdict = Screen(invites_per_s=1, burst=10, retry_after_s=30).verdict(
        (MESSAGES / f"{name}.dat").read_bytes(), "192.0.2.1", lambda _: True
    )
    assert verdict.action == "answer" and verdict.status >= 400 and status(verdict.data) == verdict.status


@pytest.mark.parametrize("name", VALID + RESPONSES)
def test_each_valid_message_reaches_the_stack(name: str) -> None:
    datagram = (MESSAGES / f"{name}.dat").read_bytes()
    verdict = Screen(invites_per_s=1, burst=10, retry_after_s=30).verdict(
        datagram, "192.0.2.1", lambda _: True
    )
    assert verdict.action in ("pass", "replace")
    if verdict.action == "replace":  # RFC 2543 style: only a branch was added to the top Via
        mended = parse_request(verdict.data)
        assert mended is not None and "branch=z9hG4bK-2543-" in (mended.first("via") or "")
        assert verdict.data.count(b"\r\n") == datagram.count(b"\r\n")


def test_a_valid_request_the_stack_cannot_decode_still_gets_a_final_answer() -> None:
    screen = Screen(invites_per_s=1, burst=10, retry_after_s=30)
    verdict = screen.verdict((MESSAGES / "unksm2.dat").read_bytes(), "192.0.2.1", lambda _: False)
    assert verdict.action == "answer" and verdict.status == 501
    assert b"tag=" in verdict.data.split(b"\r\nTo:", 1)[1].split(b"\r\n", 1)[0]


def test_an_invite_flood_from_one_source_gets_503_while_another_source_is_admitted() -> None:
    screen = Screen(invites_per_s=0.001, burst=10, retry_after_s=45)
    verdicts = [screen.verdict(invite(call), "192.0.2.66", lambda _: True) for call in range(30)]
    assert [v.action for v in verdicts[:10]] == ["pass"] * 10
    assert {v.status for v in verdicts[10:]} == {503}
    assert b"Retry-After: 45" in verdicts[10].data
    assert screen.verdict(invite(5), "192.0.2.66", lambda _: True).action == "pass"  # a retransmission
    assert screen.verdict(invite(20), "192.0.2.66", lambda _: True).status == 503  # so is this one
    assert screen.verdict(invite(999), "192.0.2.7", lambda _: True).action == "pass"  # someone else
    in_dialog = screen.verdict(invite(31, to_tag=";tag=x"), "192.0.2.66", lambda _: True)
    assert in_dialog.action == "pass"  # a re-INVITE in a call is not a new call
    assert screen.claim("call-3@127.0.0.2") == Admitted("192.0.2.66") and screen.refused_flood == 20


def test_new_calls_over_the_lines_are_refused_before_the_stack_allocates_them() -> None:
    screen = Screen(invites_per_s=100, burst=100, retry_after_s=30)
    taken = {"192.0.2.66": 2}
    screen.lines = lambda source: "busy" if taken.get(source, 0) + screen.pending(source) >= 2 else None
    assert screen.verdict(invite(1), "192.0.2.7", lambda _: True).action == "pass"
    assert screen.pending() == 1 and screen.pending("192.0.2.7") == 1
    refused = screen.verdict(invite(2), "192.0.2.66", lambda _: True)
    assert refused.status == 503 and screen.refused_busy == 1
    assert screen.claim("call-1@127.0.0.2") == Admitted("192.0.2.7") and screen.pending() == 0
