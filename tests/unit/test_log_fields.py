"""Log lines as operators read them: JSON with the bound ids, and the `extra` fields of standard-library lines."""

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


def start_logging() -> None:
    configure_logging("info", json=True)  # in the test itself: its handler writes to the stderr capsys has


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_extra_fields_of_a_standard_library_line_are_kept(json_logs: pytest.CaptureFixture[str]) -> None:
    """The TTS fallback line: which engine failed and why."""
    start_logging()
    bind_ids(call_id="call-7")
    logging.getLogger("agent.speech.tts_fallback").warning(
        "tts engine failed, falling back", extra={"engine": "hibari", "error": "TimeoutError"}
    )
    (line,) = lines(json_logs)
    assert line["event"] == "tts engine failed, falling back" and line["level"] == "warning"
    assert (line["engine"], line["error"]) == ("hibari", "TimeoutError")
    assert line["call_id"] == "call-7" and line["logger"] == "agent.speech.tts_fallback"


def test_structlog_fields_and_ids_are_kept(json_logs: pytest.CaptureFixture[str]) -> None:
    start_logging()
    bind_ids(session_id="sess_1", request_id=None)
    get_logger("agent.calls.runner").info("call_recorded", outcome="booked")
    (line,) = lines(json_logs)
    assert (line["event"], line["outcome"], line["session_id"]) == ("call_recorded", "booked", "sess_1")
    assert "request_id" not in line
