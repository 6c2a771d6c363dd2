"""The only module that imports baresip-python: a SIP user agent answering calls, as small typed objects."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from baresip.call import Call, CallState, DigitEvent
from baresip.config import Account, Config
from baresip.errors import AudioNotActive, AudioRestarted, BaresipError, StaleHandleError
from baresip.events import Event, StackEvent
from baresip.runtime import Runtime
from baresip.ua import UserAgent

from agent.log import get_logger
from telephony.sip_admission import Admitted, Screen
from telephony.sip_digest import DigestAuthority, DigestCredentials
from telephony.sip_prefilter import UdpPreFilter
from telephony.sip_trust import PeerGate, parse_networks

log = get_logger(__name__)


@dataclass(frozen=True)
class StackConfig:
    host: str
    port: int
    user: str
    rtp_port_min: int
    rtp_port_max: int
    media_timeout_s: float
    # The receive jitter buffer ("off", "fixed", "adaptive") and its playout delay range in ms
    jitter_buffer: str = "adaptive"
    jitter_buffer_ms: tuple[int, int] = (20, 200)
    # New INVITEs from one source address: this many a second, bursts of this many; more get 503 at once
    invites_per_source_per_s: float = 2.0
    invite_burst_per_source: int = 10
    busy_retry_after_s: int = 30
    # Peers (addresses or CIDRs) whose P-Asserted-Identity / Remote-Party-ID is believed, without credentials
    trusted_peers: tuple[str, ...] = ()
    allow_untrusted: bool = True  # other peers call as unverified callers (False: 403, unless authenticated)
    auth_username: str = ""  # set: other peers must answer a digest challenge (401) and are then believed
    auth_password: str = field(default="", repr=False)
    auth_nonce_ttl_s: float = 300.0

    def peer_gate(self) -> PeerGate:
        digest = None
        if self.auth_username:
            credentials = DigestCredentials(self.auth_username, self.auth_password)
            digest = DigestAuthority(credentials, nonce_ttl_s=self.auth_nonce_ttl_s)
        return PeerGate(
            trusted=parse_networks(self.trusted_peers), allow_untrusted=self.allow_untrusted, digest=digest
        )


class SipLeg:
    """One inbound call: signalling (answer, refuse, hang up, transfer), 8 kHz PCM, DTMF and close events."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self.call_id: str = call.call_id or f"sip-{call.handle:x}"
        self.peer_uri: str = call.peer or ""
        self.headers: dict[str, str] = {str(k): str(v) for k, v in (call.headers or {}).items()}
        self.closed = asyncio.Event()
        self.close_reason = ""
        self.established = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._digit_handlers: list[Callable[[str], None]] = []
        call.on(self._on_event)
        call.on_dtmf(self._on_digit)

    # Events arrive on the event loop (baresip-python delivers them there).
    def _on_event(self, event: StackEvent) -> None:
        if event.event is Event.CALL_ESTABLISHED:
            self.established.set()
        elif event.event is Event.CALL_CLOSED:
            self.close_reason = event.text or ""
            self.closed.set()

    def _on_digit(self, digit: DigitEvent) -> None:
        for handler in list(self._digit_handlers):
            handler(digit.digit)

    def on_digit(self, handler: Callable[[str], None]) -> None:
        self._digit_handlers.append(handler)

    @property
    def is_closed(self) -> bool:
        return self.closed.is_set() or self._call.state is CallState.CLOSED

    async def answer(self) -> None:
        """200 OK. A CANCEL can cross it: the call is then already gone (normal telephony, not a failure),
        and the leg reads as closed at once, before the stack's close event arrives."""
        try:
            await self._call.answer()
        except StaleHandleError:
            log.info("sip_answer_crossed_cancel")
            self.close_reason = self.close_reason or "gone before the answer"
            self.closed.set()

    async def refuse(self) -> None:
        """486 Busy Here before answering, through baresip-python's own command queue. (The UDP pre-filter
        answers 503 + Retry-After before a call exists; this is for TCP and for races with it. Refusing
        with 503 through libbaresip's ua_hangupf from this thread corrupted the heap under an INVITE flood.)"""
        try:
            await self._call.reject()
        except BaresipError as exc:  # the caller went first
            log.debug("sip_refuse_raced", error=str(exc))

    async def hangup(self) -> None:
        if self.is_closed:
            return
        try:
            await self._call.hangup()
        except BaresipError as exc:  # the far end hung up at the same moment: normal telephony
            log.debug("sip_hangup_raced", error=str(exc))

    async def transfer(self, uri: str, timeout_s: float) -> tuple[bool, str]:
        """Blind transfer (REFER); (True, "") when the far end reports the new call answered."""
        try:
            await self._call.transfer(uri, timeout=timeout_s)
            return True, ""
        except (BaresipError, ValueError) as exc:
            return False, str(exc)

    def read(self, max_samples: int) -> bytes:
        """Received 16-bit PCM at 8 kHz, never blocking; b"" when nothing arrived or media is not up."""
        for _ in range(2):
            try:
                return self._call.audio.read(max_samples * 2)
            except AudioRestarted:  # a re-INVITE replaced the streams; the next read binds to them
                continue
            except AudioNotActive:
                return b""
        return b""

    def write(self, pcm: bytes) -> int:
        """Queue PCM for sending; returns bytes taken (the stack's buffer is bounded)."""
        for _ in range(2):
            try:
                return self._call.audio.write(pcm)
            except AudioRestarted:
                continue
            except AudioNotActive:
                return 0
        return 0

    def flush(self) -> None:
        with contextlib.suppress(AudioNotActive, AudioRestarted):
            self._call.audio.flush_tx()

    def media_quality(self) -> dict[str, float | int | None]:
        """The closed call's receive side: jitter-buffer delay, late and lost packets, jitter (empty while open)."""
        stats = self._call.final_stats
        if stats is None:
            return {}
        return {
            "jitter_buffer_delay_ms": stats.jbuf_delay_ms,
            "jitter_buffer_late": stats.jbuf_late,
            "rx_lost": stats.rx_lost,
            "rx_jitter_ms": stats.rx_jitter_ms,
        }

    def tx_buffered_samples(self) -> int:
        try:
            return self._call.audio.info().tx_buffered // 2
        except (AudioNotActive, AudioRestarted):
            return 0


class SipStack:
    """A baresip runtime with one catch-all user agent: every INVITE to our address becomes a SipLeg."""

    def __init__(self, config: StackConfig) -> None:
        self._config = config
        self._runtime: Runtime | None = None
        self._ua: UserAgent | None = None
        self._closed = False
        self.screen = Screen(
            invites_per_s=config.invites_per_source_per_s,
            burst=config.invite_burst_per_source,
            retry_after_s=config.busy_retry_after_s,
            peers=config.peer_gate(),
        )
        self._prefilter = UdpPreFilter(self.screen, config.port)

    @property
    def guarded(self) -> bool:
        """Untrusted peers must authenticate or are refused: only UDP, where the pre-filter sees them."""
        return self.screen.peers.guarded

    def _stack_config(self) -> Config:
        cfg = self._config
        low, high = cfg.jitter_buffer_ms
        lines = [
            f"sip_listen {cfg.host}:{cfg.port}",
            f"rtp_ports {cfg.rtp_port_min}-{cfg.rtp_port_max}",
            f"audio_jitter_buffer_type {cfg.jitter_buffer}",
            f"audio_jitter_buffer_ms {low}-{high}",
        ]
        if self.guarded:  # a TCP INVITE reaches the stack unscreened (no source address, no challenge)
            lines.append("sip_transports udp")
        # baresip reads an interface of 0.0.0.0 as none at all (it then listens nowhere); unset, it binds the
        # machine's own (non-loopback) addresses of the family sip_listen names
        any_address = cfg.host in ("0.0.0.0", "::")
        if any_address:
            lines.append("net_af ipv4" if cfg.host == "0.0.0.0" else "net_af ipv6")
        return Config(
            net_interface=None if any_address else cfg.host,
            max_concurrent_calls=None,  # our own cap answers 503; the stack's would answer 486
            rtp_timeout=max(1, round(cfg.media_timeout_s)),
            expose_headers=("P-Asserted-Identity", "Remote-Party-ID"),
            extra_config_text="\n".join(lines) + "\n",
        )

    async def start(self, on_incoming: Callable[[SipLeg], None]) -> None:
        cfg = self._config
        runtime = Runtime()
        await runtime.start(self._stack_config())
        self._runtime = runtime
        account = Account(
            user=cfg.user,
            domain=f"{cfg.host}:{cfg.port}",
            password="",
            reg_interval=0,
            audio_codecs=("pcmu", "pcma"),
            dtmf_mode="rtpevent",
            extra_params=("catchall=yes",),  # a trunk dials the DID (sip:+1555...@us), not our user name
        )
        self._ua = await UserAgent.create(runtime, account, transfer_policy="reject")

        def incoming(call: Call) -> None:
            on_incoming(SipLeg(call))

        self._ua.on_incoming(incoming)
        screened = self._prefilter.attach()  # UDP only: a TCP stream reaches baresip as it came
        if self.guarded and not (screened and (cfg.trusted_peers or cfg.auth_username)):
            log.warning(  # production on a network address, say, with no trunk listed and no credentials
                "sip_refusing_every_call",
                reason="the pre-filter is unavailable" if not screened else "no trusted peers or credentials",
                hint="set AGENT_SIP_TRUSTED_PEERS, AGENT_SIP_AUTH_USERNAME/PASSWORD or AGENT_SIP_ALLOW_UNTRUSTED",
            )
        log.info(
            "sip_listening",
            host=cfg.host,
            port=cfg.port,
            transports="udp" if self.guarded else "udp,tcp",
            screened=screened,
            trusted_peers=len(cfg.trusted_peers),
            untrusted="authenticated"
            if cfg.auth_username
            else "allowed"
            if cfg.allow_untrusted
            else "refused",
        )

    def claim(self, call_id: str) -> Admitted | None:
        """Where a new call's INVITE came from (over UDP) and whether that peer is believed, now that the
        endpoint has the call; None when the pre-filter never saw it (TCP)."""
        return self.screen.claim(call_id)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._runtime is not None:
            try:
                await self._runtime.close()
            except BaresipError as exc:
                log.warning("sip_stack_close_failed", error=str(exc))


def stack_version() -> dict[str, Any]:
    """Which SIP stack this build carries (for the README and health output)."""
    import baresip

    return {"baresip_python": baresip.__version__}
