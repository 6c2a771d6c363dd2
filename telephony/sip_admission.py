"""The SIP pre-filter's decisions, without native code: each datagram screened, each new INVITE admitted or
answered (503: a flood from one source, every line or that source's share taken, draining; 401 / 403: a peer
that is neither trusted nor authenticated)."""

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
from telephony.sip_trust import PeerGate

MAX_TRACKED = 4096  # sources, and recent INVITE transactions, remembered (oldest forgotten first)
PENDING_FOR_S = 5.0  # an admitted INVITE counts as a line taken until the endpoint sees its call (or this)
# Asked about each new call that passed the rate limit: "busy" or "draining" to refuse it, None to let it in.
LinePolicy = Callable[[str], Literal["busy", "draining"] | None]


@dataclass(frozen=True)
class Admitted:
    """A new call the pre-filter let in: where its INVITE came from, and whether that peer is believed."""

    source: str
    vouched: bool = False


@dataclass(frozen=True)
class Verdict:
    action: Literal["pass", "replace", "answer", "drop"]
    data: bytes = b""
    status: int = 0


PASS = Verdict("pass")


class Screen:
    """Per datagram: RFC 4475 checks and RFC 2543 mending. Per new INVITE: a token bucket per source address,
    the peer gate (trusted, authenticated or refused), then the endpoint's line policy. Runs in the SIP stack's
    thread; the endpoint reads it from the loop."""

    def __init__(
        self, *, invites_per_s: float, burst: int, retry_after_s: int, peers: PeerGate | None = None
    ) -> None:
        self.peers = peers or PeerGate()
        self._rate = invites_per_s
        self._burst = float(burst)
        self._retry_after_s = retry_after_s
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # source -> (tokens, updated)
        self._transactions: OrderedDict[tuple[str, str], Reply | None] = OrderedDict()  # None: admitted
        self._pending: OrderedDict[str, tuple[Admitted, float]] = (
            OrderedDict()
        )  # Call-ID -> (call, admitted at)
        self.lines: LinePolicy | None = None
        self.refused_malformed = 0
        self.refused_flood = 0
        self.refused_busy = 0
        self.refused_untrusted = 0  # 403: untrusted peers while only trusted ones may call
        self.challenged = 0  # 401: untrusted peers without valid credentials

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
            refusal = self._admit(source, request)
            if refusal is not None:
                return Verdict("answer", build_reply(request, datagram, refusal), refusal.status)
        mended = mend_rfc2543(datagram, request)
        if not decodable(mended or datagram):
            if request.method == "ACK":
                return Verdict("drop")
            reply = answer_for_undecodable(request.method)
            return Verdict("answer", build_reply(request, datagram, reply), reply.status)
        return Verdict("replace", mended) if mended else PASS

    # The endpoint's side -------------------------------------------------------------------------------
    def claim(self, call_id: str) -> Admitted | None:
        """The endpoint has the call: it no longer counts as pending. None: the pre-filter never saw it."""
        found = self._pending.pop(call_id, None)
        return found[0] if found else None

    def pending(self, source: str | None = None) -> int:
        """Admitted INVITEs the endpoint has not seen yet (from `source`, or from anyone)."""
        fresh = time.monotonic() - PENDING_FOR_S
        calls = list(self._pending.values())
        return sum(1 for call, at in calls if at > fresh and source in (None, call.source))

    # Inside ----------------------------------------------------------------------------------------------
    def _refuse(self, datagram: bytes, refused: Refused, request: Request | None) -> Verdict:
        if datagram.startswith(b"ACK "):  # an ACK is never answered
            return Verdict("drop")
        self.refused_malformed += 1
        reply = Reply(refused.status, refused.reason, refused.headers)
        return Verdict("answer", build_reply(request, datagram, reply), refused.status)

    def _admit(self, source: str, request: Request) -> Reply | None:
        """None to let a new INVITE in, else the refusal; a retransmission gets what its first copy got."""
        call_id = request.first("call-id") or ""
        key = (source, f"{call_id}|{request.first('cseq')}")
        if key in self._transactions:
            return self._transactions[key]
        busy = Reply(503, "Service Unavailable", (f"Retry-After: {self._retry_after_s}",))
        refusal: Reply | None = None
        peer = self.peers.admit(source, request) if self._take_token(source) else None
        if peer is None:
            self.refused_flood += 1
            refusal = busy
        elif peer.reply is not None:
            self.refused_untrusted += peer.reply.status == 403
            self.challenged += peer.reply.status == 401
            refusal = peer.reply
        elif self.lines is not None and (reason := self.lines(source)) is not None:
            self.refused_busy += reason == "busy"
            refusal = busy
        _remember(self._transactions, key, refusal)
        if refusal is None and peer is not None:
            earlier = self._pending.get(call_id)  # the same Call-ID from elsewhere: believe neither
            vouched = peer.vouched and (earlier is None or earlier[0].source == source)
            _remember(self._pending, call_id, (Admitted(source, vouched), time.monotonic()))
        return refusal

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
