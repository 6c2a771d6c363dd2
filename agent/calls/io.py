"""CallIO: the one port between a transport (SIP, LiveKit, browser, WAV replay) and a call session."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from agent.audio.frames import AudioFrame
from agent.calls.playout import Playout


@dataclass(frozen=True)
class DtmfDigit:
    digit: str  # 0-9, *, #, A-D
    at_s: float


class CallIO(ABC):
    """What a session may do with a call; transports implement it and never see the session.

    A transport is frames in (`frames`, `dtmf`), frames out (it drains `playout`, the call's one outgoing
    buffer), hang-up and transfer. Time is media time: seconds of caller audio delivered so far (`now()`), so a
    replay on a virtual clock and a live call behave the same. `played_samples` counts what the caller actually
    heard, which is what barge-in needs.
    """

    call_id: str
    caller_id: str | None = None
    # A trusted trunk vouches for `caller_id` (LiveKit SIP; the SIP endpoint for a trusted peer): only then is
    # it proof of who calls, enough with a detail of a booking to change it. Otherwise it is a claim.
    caller_verified: bool = False
    input_rate: int = 16000
    output_rate: int = 16000
    ended_by: str | None = None  # set by a transport that knows why media ended ("caller", "timeout")
    _playout: Playout

    # What a transport implements ---------------------------------------------------------------------------
    @abstractmethod
    def frames(self) -> AsyncIterator[AudioFrame]:
        """Caller audio, 20 ms frames at `input_rate`; the iterator ends when the caller hangs up."""

    @abstractmethod
    def dtmf(self) -> AsyncIterator[DtmfDigit]:
        """Keypad digits as they arrive; ends with the call."""

    @abstractmethod
    def now(self) -> float:
        """Media time in seconds."""

    @abstractmethod
    async def hangup(self) -> None:
        """End the call from our side (idempotent)."""

    @abstractmethod
    async def transfer(self, target: str) -> bool:
        """Hand the call to another party; False when the transport cannot or the transfer failed."""

    def working(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Marks CPU work (STT, dialog, TTS). A virtual-clock transport stops its clock meanwhile, so
        replays run as fast as the CPU allows without the caller "talking over" work in progress."""
        return contextlib.nullcontext()

    # Agent audio out, the same for every transport: the call's playout -------------------------------------
    @property
    def playout(self) -> Playout:
        """The call's one outgoing buffer: the session queues into it, the transport drains it."""
        return self._playout

    async def play(self, samples: npt.NDArray[np.int16]) -> None:
        """Queue agent audio at `output_rate` for playout."""
        self.playout.push(samples)

    async def wait_played(self) -> None:
        """Return when everything queued so far has been played (or cleared)."""
        await self.playout.wait_drained()

    def clear(self) -> int:
        """Barge-in: drop unplayed agent audio at once; returns how many samples were dropped."""
        return self.playout.clear()

    @property
    def played_samples(self) -> int:
        """Agent samples the caller has heard since the call began."""
        return self.playout.played

    @property
    def queued_samples(self) -> int:
        """Agent samples queued but not yet played."""
        return self.playout.pending


# What a transport calls with each new call; it returns when the call is over (the session's whole life).
CallHandler = Callable[[CallIO], Awaitable[None]]


# Who ended a call that was never answered ("caller": hung up or sent CANCEL while it rang).
UnansweredEndedBy = Literal["caller", "agent", "timeout", "shutdown"]


@dataclass(frozen=True)
class UnansweredCall:
    """A call that rang but never reached a session: the caller hung up first, or it was never set up."""

    call_id: str
    caller_id: str | None
    rang_at: datetime  # UTC, when the transport first heard of it
    ended_by: UnansweredEndedBy
    reason: str = ""  # the transport's words, for the log


# What a transport calls with a call that rang and was gone before the agent answered.
UnansweredCallHandler = Callable[[UnansweredCall], Awaitable[None]]
