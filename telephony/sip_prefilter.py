"""A pre-filter on the SIP stack's own UDP socket: every datagram is screened before baresip decodes it.

baresip owns the socket, but libre (its SIP library) lets a "UDP helper" see each datagram first (the hook
TURN and ICE use). Ours answers malformed requests (RFC 4475) itself, gives RFC 2543 requests a branch so the
stack can take them, answers well-formed requests the stack could not decode instead of leaving them
unanswered, and refuses an INVITE flood from one source with 503 before the stack allocates a call for it.
It runs in libre's thread; a failure inside it lets the datagram through unchanged.
"""

from __future__ import annotations

import ctypes
import re
import socket

import baresip._native as baresip_native

from agent.log import get_logger
from telephony.sip_admission import Screen

log = get_logger(__name__)
_SIP_TRANSP_UDP = 0
_HELPER_LAYER = 1000  # above every helper libre itself installs: sees the datagram first


class _Mbuf(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("size", ctypes.c_size_t),
        ("pos", ctypes.c_size_t),
        ("end", ctypes.c_size_t),
    ]


class _Le(ctypes.Structure):
    _fields_ = [
        ("prev", ctypes.c_void_p),
        ("next", ctypes.c_void_p),
        ("list", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
    ]


_RECV_HELPER = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
_LIB = ctypes.CDLL(baresip_native.__file__)
for _name, _restype, _argtypes in (
    ("uag_sip", ctypes.c_void_p, []),
    ("sa_init", None, [ctypes.c_void_p, ctypes.c_int]),
    ("sa_port", ctypes.c_uint16, [ctypes.c_void_p]),
    ("sa_ntop", ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]),
    ("udp_local_get", ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p]),
    ("udp_send", ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]),
    (
        "udp_register_helper",
        ctypes.c_int,
        [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, _RECV_HELPER, ctypes.c_void_p],
    ),
    ("mbuf_alloc", ctypes.c_void_p, [ctypes.c_size_t]),
    ("mbuf_write_mem", ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]),
    ("mem_deref", ctypes.c_void_p, [ctypes.c_void_p]),
    ("sip_msg_decode", ctypes.c_int, [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]),
    ("re_thread_enter", None, []),
    ("re_thread_leave", None, []),
):
    _function = getattr(_LIB, _name)
    _function.restype, _function.argtypes = _restype, _argtypes


def _sockaddr_size() -> int:
    """sizeof(struct sa) in this libre build (it depends on build options): what sa_init() clears."""
    probe = ctypes.create_string_buffer(b"\xff" * 512, 512)
    _LIB.sa_init(probe, socket.AF_INET)
    return len(probe.raw.rstrip(b"\xff"))


def _mbuf(data: bytes) -> int:
    mb = _LIB.mbuf_alloc(len(data) + 1)
    _LIB.mbuf_write_mem(mb, data, len(data))
    _Mbuf.from_address(mb).pos = 0
    return int(mb)


def _decodable(datagram: bytes) -> bool:
    """Whether libre's own parser takes it (what it cannot parse, it drops without a word)."""
    mb, msg = _mbuf(datagram), ctypes.c_void_p()
    try:
        return bool(_LIB.sip_msg_decode(ctypes.byref(msg), mb) == 0)
    finally:
        if msg.value:
            _LIB.mem_deref(msg)
        _LIB.mem_deref(mb)


class UdpPreFilter:
    """Attaches a Screen to the stack's UDP sockets on `port` (call `attach` once the stack runs): one per
    local address the stack listens on (one, unless it was given the any-address on a multi-homed host)."""

    def __init__(self, screen: Screen, port: int) -> None:
        self.screen = screen
        self._port = port
        self._socks: list[int] = []
        self._helpers: list[ctypes.c_void_p] = []
        self._callback = _RECV_HELPER(self._on_datagram)  # kept alive as long as the stack may call it

    def attach(self) -> bool:
        """Find libre's UDP transports for our port and register the helper on each; False (logged) if
        there is none or one cannot take it."""
        _LIB.re_thread_enter()
        try:
            self._socks = self._udp_sockets()
            errors = []
            for index, sock in enumerate(self._socks):  # the helper's arg says which socket answers
                helper = ctypes.c_void_p()
                err = _LIB.udp_register_helper(
                    ctypes.byref(helper), sock, _HELPER_LAYER, None, self._callback, ctypes.c_void_p(index)
                )
                self._helpers.append(helper)
                errors += [err] if err else []
        finally:
            _LIB.re_thread_leave()
        if not self._socks or errors:
            reason = f"udp_register_helper: {errors}" if errors else "no UDP transport found"
            log.error("sip_prefilter_unavailable", reason=reason, port=self._port)
            return False
        log.info("sip_prefilter_attached", port=self._port, sockets=len(self._socks))
        return True

    def _udp_sockets(self) -> list[int]:
        """struct sip { struct list transpl; ... }; struct sip_transport { struct le le; struct sa laddr;
        struct sip *sip; struct hash *ht_ccert; struct tls *tls; void *sock; enum sip_transp tp; ... }
        (libre 4.10). Each candidate is checked through libre's own udp_local_get before it is used."""
        found: list[int] = []
        sip = _LIB.uag_sip()
        if not sip:
            return found
        sa_size = _sockaddr_size()
        sock_offset = _aligned(ctypes.sizeof(_Le) + sa_size, 8) + 3 * ctypes.sizeof(ctypes.c_void_p)
        element = ctypes.c_void_p.from_address(sip).value  # transpl.head
        while element:
            le = _Le.from_address(element)
            transport = le.data or 0
            tp = ctypes.c_int.from_address(transport + sock_offset + ctypes.sizeof(ctypes.c_void_p)).value
            if tp == _SIP_TRANSP_UDP and _LIB.sa_port(transport + ctypes.sizeof(_Le)) == self._port:
                sock = ctypes.c_void_p.from_address(transport + sock_offset).value
                local = ctypes.create_string_buffer(max(sa_size, 128))
                if sock and _LIB.udp_local_get(sock, local) == 0 and _LIB.sa_port(local) == self._port:
                    found += [int(sock)] if int(sock) not in found else []
            element = le.next
        return found

    def _on_datagram(self, src: int, mb: int, arg: int | None) -> bool:
        """libre's thread: True when we answered or dropped it (the stack never sees it)."""
        try:
            buffer = _Mbuf.from_address(mb)
            datagram = ctypes.string_at(buffer.buf + buffer.pos, buffer.end - buffer.pos)
            verdict = self.screen.verdict(datagram, _address(src), _decodable)
            if verdict.action == "answer":
                reply = _mbuf(verdict.data)
                _LIB.udp_send(self._socks[arg or 0], src, reply)
                _LIB.mem_deref(reply)
                log.info(
                    "sip_prefiltered", status=verdict.status, source=_address(src), line=_first_line(datagram)
                )
            if verdict.action == "replace":  # rewritten in place: the stack decodes the mended request
                start = buffer.pos
                buffer.end = start
                _LIB.mbuf_write_mem(mb, verdict.data, len(verdict.data))
                _Mbuf.from_address(mb).pos = start
            return verdict.action in ("answer", "drop")
        except Exception:  # never break the stack: the datagram goes on as it came
            log.exception("sip_prefilter_failed")
            return False


def _aligned(offset: int, alignment: int) -> int:
    return (offset + alignment - 1) // alignment * alignment


def _address(sa: int) -> str:
    text = ctypes.create_string_buffer(64)
    return text.value.decode() if _LIB.sa_ntop(sa, text, 64) == 0 else "?"


def _first_line(datagram: bytes) -> str:
    return re.sub(r"\s+", " ", datagram.split(b"\n", 1)[0].decode("latin-1"))[:80]
