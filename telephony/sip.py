"""The embedded SIP endpoint: answers G.711 calls over UDP/TCP and hands each one to a session as a CallIO."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from agent.audio.frames import FRAME_MS, AudioFrame, samples_per_frame
from agent.calls.io import (
    CallHandler,
    CallIO,
    DtmfDigit,
    UnansweredCall,
    UnansweredCallHandler,
    UnansweredEndedBy,
)
from agent.calls.playout import Playout
from agent.log import get_logger
from telephony.sip_admission import Admitted
from telephony.sip_caller_id import caller_identity
from telephony.sip_stack import SipLeg, SipStack, StackConfig
from telephony.transfer_policy import is_transfer_allowed

log = get_logger(__name__)
RATE = 8000
FRAME = samples_per_frame(RATE)
AHEAD_SAMPLES = 3 * FRAME  # agent audio kept in the stack's send buffer: small, so barge-in is instant
SILENCE_FILL_AFTER_FRAMES = 10  # caller audio 200 ms late: the peer stopped sending (silence suppression)
JITTER_SLACK_FRAMES = 2  # fill to 40 ms behind the wall clock, leaving room for packets still in flight


class SipCall(CallIO):
    """One answered SIP call. A paced 20 ms pump moves caller audio in and keeps the send buffer topped up."""

    def __init__(
        self,
        leg: SipLeg,
        *,
        allow_list: tuple[str, ...],
        vouched: bool = False,
        transfer_timeout_s: float = 30.0,
    ) -> None:
        self.call_id = leg.call_id
        # `vouched`: the INVITE came from a trusted or authenticated peer, whose P-Asserted-Identity is believed
        caller = caller_identity(leg.peer_uri, leg.headers, vouched=vouched)
        self.caller_id, self.caller_verified = caller.number, caller.verified
        self.input_rate = RATE
        self.output_rate = RATE
        self.transferred_to: str | None = None
        self._leg = leg
        self._allow_list = allow_list
        self._transfer_timeout_s = transfer_timeout_s
        self._frames: asyncio.Queue[AudioFrame | None] = asyncio.Queue()
        self._digits: asyncio.Queue[DtmfDigit | None] = asyncio.Queue()
        # Agent audio waits in the playout; at most AHEAD_SAMPLES of it sit in the stack's send buffer.
        self._playout = Playout(RATE, downstream=leg.tx_buffered_samples, flush=leg.flush)
        self._received = 0
        self._pending_in = np.zeros(0, np.int16)
        self._ended = False
        leg.on_digit(self._on_digit)
        self._pump = asyncio.create_task(self._run_pump(), name=f"sip-pump-{self.call_id}")

    def _on_digit(self, digit: str) -> None:
        log.info("dtmf_received", digit=digit, at_s=round(self.now(), 2))
        self._digits.put_nowait(DtmfDigit(digit, self.now()))

    # Media ------------------------------------------------------------------------------------------
    async def _run_pump(self) -> None:
        started = time.monotonic()
        tick = 0
        try:
            while not self._leg.is_closed:
                self._receive()
                self._fill_silence(tick)
                self._send()
                tick += 1
                await asyncio.sleep(max(0.0, started + tick * FRAME_MS / 1000 - time.monotonic()))
        finally:
            if self._leg.is_closed and self.ended_by is None:
                self.ended_by = "timeout" if "rtp" in self._leg.close_reason.lower() else "caller"
            self._end_streams()

    def _receive(self) -> None:
        data = self._leg.read(FRAME * 8)
        if not data:
            return
        samples = np.concatenate([self._pending_in, np.frombuffer(data, np.int16)])
        whole = samples.size - samples.size % FRAME
        for start in range(0, whole, FRAME):
            self._received += FRAME
            self._frames.put_nowait(AudioFrame(samples[start : start + FRAME].copy(), RATE))
        self._pending_in = samples[whole:].copy()

    def _fill_silence(self, tick: int) -> None:
        """A peer that sends no RTP while its caller is quiet (silence suppression) must not stop the call's
        clock: the VAD would never see the end of a turn. Fill with silence when 200 ms behind the wall clock."""
        behind = tick * FRAME - self._received - self._pending_in.size
        if behind > SILENCE_FILL_AFTER_FRAMES * FRAME:
            for _ in range(behind // FRAME - JITTER_SLACK_FRAMES):
                self._received += FRAME
                self._frames.put_nowait(AudioFrame(np.zeros(FRAME, np.int16), RATE))

    def _send(self) -> None:
        room = AHEAD_SAMPLES - self._leg.tx_buffered_samples()
        if room > 0 and self.playout.queued:
            chunk = self.playout.take(room)
            taken = self._leg.write(chunk.tobytes()) // 2
            if taken < chunk.size:  # the stack took less than it had room for: the rest goes next tick
                self.playout.give_back(chunk[taken:])
        self.playout.settle()

    def _end_streams(self) -> None:
        if not self._ended:
            self._ended = True
            self._frames.put_nowait(None)
            self._digits.put_nowait(None)
            self.playout.close()

    # CallIO -----------------------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[AudioFrame]:
        while (frame := await self._frames.get()) is not None:
            yield frame

    async def dtmf(self) -> AsyncIterator[DtmfDigit]:
        while (digit := await self._digits.get()) is not None:
            yield digit

    def now(self) -> float:
        return self._received / RATE

    async def hangup(self) -> None:
        await self._leg.hangup()
        self._end_streams()

    async def transfer(self, target: str) -> bool:
        if not is_transfer_allowed(target, self._allow_list):
            log.warning("transfer_refused_not_allowed", target=target)
            return False
        log.info("transfer_started", target=target)
        ok, reason = await self._leg.transfer(target, self._transfer_timeout_s)
        if ok:
            self.transferred_to = target
            self._end_streams()
        log.info("transfer_finished", target=target, ok=ok, reason=reason)
        return ok

    async def aclose(self) -> None:
        """Stop the pump and hang up if the call is still up (idempotent)."""
        await self._leg.hangup()
        self._pump.cancel()
        await asyncio.gather(self._pump, return_exceptions=True)
        self._end_streams()


@dataclass(frozen=True)
class EndpointLimits:
    max_calls: int
    busy_retry_after_s: int
    answer_delay_s: float = 0.0  # ring this long before answering (0: answer at once)
    establish_timeout_s: float = 10.0
    max_calls_per_source: int = 0  # calls at once from one address (0: no cap beyond max_calls)


class SipEndpoint:
    """Owns the SIP stack and one task per call; call N+1 over the cap is refused with 503 + Retry-After."""

    def __init__(
        self,
        stack_config: StackConfig,
        limits: EndpointLimits,
        on_call: CallHandler,
        *,
        transfer_allow_list: tuple[str, ...] = (),
        on_unanswered: UnansweredCallHandler | None = None,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self._stack = SipStack(stack_config)
        self._limits = limits
        self._on_call = on_call
        self._on_unanswered = on_unanswered  # calls that rang and were gone before a session took them
        self._on_refused = on_refused  # told of each call refused because every line was busy
        self._allow_list = transfer_allow_list
        self._calls: dict[str, asyncio.Task[None]] = {}
        self._admitted: dict[str, Admitted] = {}  # call id -> where its INVITE came from, and if believed
        self._legs: dict[str, SipLeg] = {}  # the calls' SIP legs: a line is taken while its leg is open
        self._refusing: set[asyncio.Task[None]] = set()
        self._closing = False
        self._draining = False  # the process is going away: new calls get 503, the others finish
        self.refused = 0
        self.answered = 0

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    @property
    def screened(self) -> dict[str, int]:
        """What the UDP pre-filter answered itself: malformed requests, flood INVITEs, calls over a cap,
        untrusted peers refused (403) and challenged for credentials (401)."""
        screen = self._stack.screen
        return {
            "malformed": screen.refused_malformed,
            "flood": screen.refused_flood,
            "busy": screen.refused_busy,
            "untrusted": screen.refused_untrusted,
            "challenged": screen.challenged,
        }

    @property
    def max_calls(self) -> int:
        """The cap: the call past it is refused with 503."""
        return self._limits.max_calls

    async def start(self) -> None:
        self._stack.screen.lines = self._line_for  # new UDP calls are refused before a call is allocated
        await self._stack.start(self._incoming)

    def refuse_new_calls(self) -> None:
        """Draining: every new INVITE is answered 503 + Retry-After; the calls in progress go on."""
        self._draining = True

    def _line_for(self, source: str) -> Literal["busy", "draining"] | None:
        """The SIP stack's thread, for each new INVITE over UDP: is there a line for a call from `source`?"""
        if self._closing or self._draining:
            return "draining"
        pending = self._stack.screen
        if self._lines_in_use() + pending.pending() >= self._limits.max_calls or self._source_full(
            source, pending.pending(source)
        ):
            self._count_refusal()
            log.warning("sip_call_refused_busy", source=source, active=len(self._calls))
            return "busy"
        return None

    def _count_refusal(self) -> None:
        self.refused += 1
        if self._on_refused is not None:
            self._on_refused()

    def _incoming(self, leg: SipLeg) -> None:
        """New calls that reached the stack (over TCP, or over UDP in a race with another): the same caps,
        refused through the stack (486 Busy Here)."""
        if leg.call_id in self._calls:
            return
        admitted = self._stack.claim(leg.call_id)
        source = admitted.source if admitted else None
        if self._closing or self._draining:  # a trunk retries elsewhere, or here once we are back
            self._refuse(leg)
            log.info("sip_call_refused_draining", call_id=leg.call_id)
            return
        if admitted is None and self._stack.guarded:  # the pre-filter never saw its peer: fail closed
            self._refuse(leg)
            log.warning("sip_call_refused_unscreened", call_id=leg.call_id)
            return
        if self._lines_in_use() >= self._limits.max_calls or self._source_full(source):
            self._count_refusal()
            self._refuse(leg)
            log.warning("sip_call_refused_busy", call_id=leg.call_id, active=len(self._calls))
            return
        received = time.perf_counter()
        task = asyncio.create_task(self._run_call(leg, received), name=f"sip-call-{leg.call_id}")
        self._calls[leg.call_id] = task
        self._legs[leg.call_id] = leg
        if admitted is not None:
            self._admitted[leg.call_id] = admitted
        task.add_done_callback(lambda _: self._forget(leg.call_id))

    def _refuse(self, leg: SipLeg) -> None:
        task = asyncio.create_task(leg.refuse(), name=f"sip-refuse-{leg.call_id}")
        self._refusing.add(task)
        task.add_done_callback(self._refusing.discard)

    def _forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        self._admitted.pop(call_id, None)
        self._legs.pop(call_id, None)

    def _lines_in_use(self) -> int:
        """Calls whose SIP leg is still up (a call being filed after its hang-up holds no line)."""
        return sum(1 for leg in list(self._legs.values()) if not leg.is_closed)

    def _source_full(self, source: str | None, pending: int = 0) -> bool:
        """One address already holds its share of the lines (an INVITE flood cannot take them all)."""
        cap = self._limits.max_calls_per_source
        legs = self._legs
        held = sum(
            1
            for call_id, admitted in list(self._admitted.items())
            if admitted.source == source and not (call_id in legs and legs[call_id].is_closed)
        )
        return bool(cap and source and held + pending >= cap)

    async def _run_call(self, leg: SipLeg, received: float) -> None:
        call: SipCall | None = None
        rang_at = datetime.now(UTC)
        missed: UnansweredCall | None = None  # set while the call has not reached a session
        try:
            missed = self._unanswered(leg, rang_at, "shutdown")
            if self._limits.answer_delay_s:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(leg.closed.wait(), self._limits.answer_delay_s)
                if leg.is_closed:
                    log.info("sip_call_cancelled_before_answer", call_id=leg.call_id, reason=leg.close_reason)
                    missed = self._unanswered(leg, rang_at, "caller")
                    return
            await leg.answer()
            if not await self._established(leg):
                log.info("sip_call_gone_before_established", call_id=leg.call_id, reason=leg.close_reason)
                missed = self._unanswered(leg, rang_at, "caller")
                return
            missed = None
            self.answered += 1
            log.info(
                "sip_call_answered",
                call_id=leg.call_id,
                peer=leg.peer_uri,
                answer_ms=round((time.perf_counter() - received) * 1000, 1),
            )
            call = SipCall(leg, allow_list=self._allow_list, vouched=self._vouched(leg))
            await self._on_call(call)
        except TimeoutError:
            log.warning("sip_call_not_established", call_id=leg.call_id, reason=leg.close_reason)
            missed = self._unanswered(leg, rang_at, "timeout") if missed else None
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sip_call_failed", call_id=leg.call_id)
            missed = self._unanswered(leg, rang_at, "agent") if missed else None
        finally:
            if call is not None:
                await call.aclose()
            else:
                await leg.hangup()
            log.info("sip_call_closed", call_id=leg.call_id, reason=leg.close_reason, **leg.media_quality())
            if missed is not None and self._on_unanswered is not None:
                await self._on_unanswered(missed)

    def _vouched(self, leg: SipLeg) -> bool:
        """The call's INVITE came from a trusted or authenticated peer (over UDP, seen by the pre-filter)."""
        admitted = self._admitted.get(leg.call_id)
        return admitted is not None and admitted.vouched

    def _unanswered(self, leg: SipLeg, rang_at: datetime, ended_by: UnansweredEndedBy) -> UnansweredCall:
        return UnansweredCall(
            call_id=leg.call_id,
            caller_id=caller_identity(leg.peer_uri, leg.headers, vouched=self._vouched(leg)).number,
            rang_at=rang_at,
            ended_by=ended_by,
            reason=leg.close_reason,
        )

    async def _established(self, leg: SipLeg) -> bool:
        """Wait for the ACK (media up); False when the caller hung up first. Raises TimeoutError."""
        waiters = {asyncio.ensure_future(leg.established.wait()), asyncio.ensure_future(leg.closed.wait())}
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=self._limits.establish_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not done:
            raise TimeoutError
        return not leg.is_closed

    async def aclose(self) -> None:
        """Hang up every call, stop the stack (idempotent)."""
        if self._closing:
            return
        self._closing = True
        calls = list(self._calls.values())
        for task in calls:
            task.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        await self._stack.aclose()
