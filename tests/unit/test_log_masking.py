"""Issue 16, finding 9 (logs): caller numbers keep their last four digits, keypad digits none, and the numbers
and e-mail addresses in a caller's words are masked, on structlog lines and standard-library ones alike."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from agent.log import bind_ids, clear_ids, configure_logging, get_logger

pytestmark = pytest.mark.unit


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield capsys
    finally:
        clear_ids()
        root.handlers[:], root.level = handlers, level


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_the_lines_that_carry_a_caller_are_masked(json_logs: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json=True)  # in the test itself: its handler writes to the stderr capsys has
    log = get_logger("agent.calls.session")
    bind_ids(call_id="call-_+15550142233_Xy7k", session_id="sess_1")  # a LiveKit SIP room names the caller
    log.info("call_answered", caller_id="+15550142233")
    log.info("dtmf_received", digit="7", at_s=1.2)
    log.info("barge_in", heard="my number is 555 014 2233 and it's maria.gonzalez@example.com")
    log.exception("turn_failed", caller_text="call me on (555) 014-2233")
    log.info("livekit_call_joined", caller="sip_+15550142233", caller_id="5550142233")
    log.info("sip_call_ended", peer="sip:+15550142233@203.0.113.5:5060")
    logging.getLogger("agent.speech.stt").info("stt text dropped", extra={"raw": "5550142233", "reason": "x"})
    logged = lines(json_logs)
    text = json.dumps(logged)
    for secret in ("5550142", "555 014", "(555) 014", "maria.gonzalez", '"digit": "7"'):
        assert secret not in text, secret
    (answered, digit, barge, failed, joined, ended, dropped) = logged
    assert answered["caller_id"] == "+*******2233" and answered["call_id"] == "call-_+*******2233_Xy7k"
    assert digit["digit"] == "*"
    assert barge["heard"] == "my number is *** *** **33 and it's m***@example.com"
    assert failed["caller_text"] == "call me on (***) ***-**33"
    assert (joined["caller"], joined["caller_id"]) == ("sip_+*******2233", "******2233")
    assert ended["peer"] == "sip:+*******2233@203.0.113.5:5060"
    assert dropped["raw"] == "********33" and dropped["reason"] == "x"


def test_what_is_not_personal_is_left_alone(json_logs: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json=True)
    bind_ids(call_id="webrtc-1a2b3c4d5e6f7a8b", request_id="req-1")
    get_logger("agent.calls.runner").info(
        "call_recorded", outcome="booked", recording="/data/recordings/2026-11-25/webrtc-1a2b-101112-ab.wav"
    )
    (line,) = lines(json_logs)
    assert line["call_id"] == "webrtc-1a2b3c4d5e6f7a8b" and line["request_id"] == "req-1"
    assert line["recording"] == "/data/recordings/2026-11-25/webrtc-1a2b-101112-ab.wav"
