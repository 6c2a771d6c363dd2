"""The SIP pre-filter's decisions, without native code: each datagram screened, each new INVITE admitted or
answered 503 (a flood from one source, every line or that source's share of them taken, draining)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from telephony.sip_screening import (
    Refused,
    Reply,
    Request,
    answer_for_undecodable,
    build_reply,
    check_request,
    mend_rfc2543,
    parse_request,
)

MAX_TRACKED = 4096  # sources, and recent INVITE transactions, remembered (oldest forgotten first)
PENDING_FOR_S = 5.0  # an admitted INVITE counts as a line taken until the endpoint sees its call (or this)
# Asked about each new call that passed the rate limit: "busy" or "draining" to refuse it, None to let it in.
LinePolicy = Callable[[str], Literal["busy", "draining"] | None]


@dataclass(frozen=True)
class Verdict:
    action: Literal["pass", "replace", "answer", "drop"]
    data: bytes = b""
    status: int = 0


PASS = Verdict("pass")


class Screen:
    """Per datagram: RFC 4475 checks and RFC 2543 mending. Per new INVITE: a token bucket per source address,
    then the endpoint's line policy. Runs in the SIP stack's thread; the endpoint reads it from the loop."""

    def __init__(self, *, invites_per_s: float, burst: int, retry_after_s: int) -> None:
        self._rate = invites_per_s
        self._burst = float(burst)
        self._retry_after_s = retry_after_s
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # source -> (tokens, updated)
        self._transactions: OrderedDict[tuple[str, str], int] = OrderedDict()  # -> status given (0: admitted)
        self._pending: OrderedDict[str, tuple[str, float]] = OrderedDict()  # Call-ID -> (source, admitted at)
        self.lines: LinePolicy | None = None
        self.refused_malformed = 0
        self.refused_flood = 0
        self.refused_busy = 0

    def verdict(self, datagram: bytes, source: str, decodable: Callable[[bytes], bool]) -> Verdict:
        first_line = datagram.split(b"\n", 1)[0]
        if b"SIP/" not in first_line:  # keep-alives, STUN, noise: the stack's business
            return PASS
        try:
            request = parse_request(datagram)
        except Refused as refused:
            return self._refuse(datagram, refused, None)
        if request is None:
            return PASS
        try:
            check_request(request)
        except Refused as refused:
            return self._refuse(datagram, refused, request)
        if request.method == "INVITE" and "tag=" not in (request.first("to") or "").lower():
            status = self._admit(source, request)
            if status:
                retry = f"Retry-After: {self._retry_after_s}"
                reply = Reply(503, "Service Unavailable", (retry,))
                return Verdict("answer", build_reply(request, datagram, reply), status)
        mended = mend_rfc2543(datagram, request)
        if not decodable(mended or datagram):
            if request.method == "ACK":
                return Verdict("drop")
            reply = answer_for_undecodable(request.method)
            return Verdict("answer", build_reply(request, datagram, reply), reply.status)
        return Verdict("replace", mended) if mended else PASS

    # The endpoint's side -------------------------------------------------------------------------------
    def claim(self, call_id: str) -> str | None:
        """The endpoint has the call: it no longer counts as pending. Returns the address it came from."""
        found = self._pending.pop(call_id, None)
        return found[0] if found else None

    def pending(self, source: str | None = None) -> int:
        """Admitted INVITEs the endpoint has not seen yet (from `source`, or from anyone)."""
        fresh = time.monotonic() - PENDING_FOR_S
        return sum(1 for src, at in list(self._pending.values()) if at > fresh and source in (None, src))

    # Inside ----------------------------------------------------------------------------------------------
    def _refuse(self, datagram: bytes, refused: Refused, request: Request | None) -> Verdict:
        if datagram.startswith(b"ACK "):  # an ACK is never answered
            return Verdict("drop")
        self.refused_malformed += 1
        reply = Reply(refused.status, refused.reason, refused.headers)
        return Verdict("answer", build_reply(request, datagram, reply), refused.status)

    def _admit(self, source: str, request: Request) -> int:
        """0 to let a new INVITE in, 503 to refuse it; a retransmission gets what its first copy got."""
        call_id = request.first("call-id") or ""
        key = (source, f"{call_id}|{request.first('cseq')}")
        if (earlier := self._transactions.get(key)) is not None:
            return earlier
        status = 0
        if not self._take_token(source):
            self.refused_flood += 1
            status = 503
        elif self.lines is not None and (reason := self.lines(source)) is not None:
            self.refused_busy += reason == "busy"
            status = 503
        _remember(self._transactions, key, status)
        if not status:
            _remember(self._pending, call_id, (source, time.monotonic()))
        return status

    def _take_token(self, source: str) -> bool:
        now = time.monotonic()
        tokens, updated = self._buckets.pop(source, (self._burst, now))
        tokens = min(self._burst, tokens + (now - updated) * self._rate)
        admitted = tokens >= 1
        _remember(self._buckets, source, (tokens - 1 if admitted else tokens, now))
        return admitted


def _remember(table: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > MAX_TRACKED:
        table.popitem(last=False)
