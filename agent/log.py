"""structlog set-up: JSON lines with session_id / request_id / call_id bound through contextvars."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

# Personal data in log lines (logs travel further than the database): which fields carry what.
PHONE_FIELDS = frozenset({"caller_id", "caller", "caller_number", "phone", "number", "peer", "participant"})
DIGIT_FIELDS = frozenset({"digit", "digits", "dtmf"})
WORDS_FIELDS = frozenset(
    {"heard", "raw", "text", "caller_text", "earlier", "whole", "first", "again", "said", "utterance"}
)
CALL_ID_FIELDS = frozenset({"call_id", "room", "path", "recording"})  # LiveKit rooms: <prefix>_<number>_<id>
_PHONE = re.compile(r"\+?\d(?:[ .()-]{0,2}\d){6,}")  # seven digits or more, however they are grouped
_DIGIT_RUN = re.compile(r"\d(?:[ .()-]{0,2}\d){2,}")  # three digits or more
_NUMBER_IN_ID = re.compile(r"(?<=_)\+?\d{7,}(?=_|$)")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_E164 = re.compile(r"\+\d{7,15}|(?<=sip:)\d{7,}")
_EMAIL = re.compile(r"([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")


def _keep_last(match: re.Match[str], keep: int) -> str:
    """Every digit of the match but the last `keep` becomes '*'; separators stay."""
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    out, seen = [], 0
    for ch in text:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - keep else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_phone(text: str) -> str:
    """Phone numbers keep their last four digits: '+15550142233' -> '+*******2233' (IPv4 addresses stay)."""
    return _PHONE.sub(lambda m: m.group(0) if _IPV4.fullmatch(m.group(0)) else _keep_last(m, 4), text)


def mask_words(text: str) -> str:
    """What a caller said: numbers keep their last two digits, e-mail addresses their first letter."""
    text = _EMAIL.sub(r"\1***@\2", text)
    return _DIGIT_RUN.sub(lambda m: _keep_last(m, 2), text)


def mask_digits(text: str) -> str:
    """Keypad digits: none is kept ('#' and '*' stay)."""
    return re.sub(r"\d", "*", text)


_MASKS: tuple[tuple[frozenset[str], Callable[[str], str]], ...] = (
    (PHONE_FIELDS, mask_phone),
    (DIGIT_FIELDS, mask_digits),
    (WORDS_FIELDS, mask_words),
    (CALL_ID_FIELDS, lambda text: _NUMBER_IN_ID.sub(lambda m: _keep_last(m, 4), text)),
    (frozenset({"event", "exception"}), lambda text: _E164.sub(lambda m: _keep_last(m, 4), text)),
)


def mask_personal_data(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: caller numbers, keypad digits and callers' words are masked in every line."""
    for fields, mask in _MASKS:
        for field in fields & event.keys():
            value = event[field]
            if isinstance(value, str | int) and not isinstance(value, bool):
                event[field] = mask(str(value))
    return event


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    """Route both structlog and the standard library's logging through one JSON (or console) renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Standard-library lines keep their `extra={...}` fields (the speech engines log that way).
    foreign = [*shared, structlog.stdlib.ExtraAdder()]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=foreign,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_personal_data,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log duplicates our own request line.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    for noisy in ("httpx", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger whose lines carry whatever ids are bound in the current context."""
    return structlog.stdlib.get_logger(name)


def bind_ids(**ids: str | None) -> None:
    """Bind correlation ids (session_id, request_id, call_id) for the rest of this task's context."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


def clear_ids() -> None:
    structlog.contextvars.clear_contextvars()
