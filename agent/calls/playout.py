"""Playout: the one outgoing audio buffer of a call; the session queues agent audio, the transport takes it."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


def _nothing_held() -> int:
    return 0


def _nothing_to_flush() -> None:
    return None


class Playout:
    """Agent audio waiting for the transport, and the count of what reached the caller.

    A paced transport (a WAV replay, a browser track) `pull`s exactly one frame per tick, silence when empty. A
    transport with a buffer of its own downstream (a SIP stack's send buffer, a LiveKit audio source) `take`s
    what fits there and tells the playout how much it still holds (`downstream`) and how to drop it (`flush`):
    what the caller heard is what left us minus what is still held downstream, so barge-in knows exactly which
    words were heard. `clear()` (barge-in) drops both at once. Observers see every chunk queued and every clear,
    which is what an echo canceller needs.
    """

    def __init__(
        self,
        rate: int,
        *,
        downstream: Callable[[], int] = _nothing_held,
        flush: Callable[[], None] = _nothing_to_flush,
    ) -> None:
        self.rate = rate
        self._downstream = downstream
        self._flush = flush
        self._chunks: deque[Int16Array] = deque()
        self._queued = 0
        self._sent = (
            0  # samples handed to the transport (silence fill excluded), minus those flushed unplayed
        )
        self._played_high = 0  # what was heard never goes backwards
        self._closed = False
        self.drained = asyncio.Event()  # nothing queued here and nothing held downstream
        self.drained.set()
        self.available = asyncio.Event()  # something is queued here
        self._on_push: list[Callable[[Int16Array], None]] = []
        self._on_clear: list[Callable[[], None]] = []

    def observe(
        self,
        *,
        on_push: Callable[[Int16Array], None] | None = None,
        on_clear: Callable[[], None] | None = None,
    ) -> None:
        """Be told of every chunk queued (before the caller hears it) and of every clear."""
        if on_push is not None:
            self._on_push.append(on_push)
        if on_clear is not None:
            self._on_clear.append(on_clear)

    # The session's side ------------------------------------------------------------------------------------
    def push(self, samples: Int16Array) -> None:
        """Queue agent audio at `rate` (ignored once the call is over)."""
        if self._closed or samples.size == 0:
            return
        chunk = np.ascontiguousarray(samples, dtype=np.int16)
        for observer in self._on_push:
            observer(chunk)
        self._chunks.append(chunk)
        self._queued += int(chunk.size)
        self.drained.clear()
        self.available.set()

    def clear(self) -> int:
        """Barge-in: drop everything not yet heard, here and downstream; returns how many samples."""
        held = self._held()
        self._flush()
        dropped = self._queued + held
        self._sent -= held
        self._chunks.clear()
        self._queued = 0
        self.available.clear()
        self.drained.set()
        for observer in self._on_clear:
            observer()
        return dropped

    def close(self) -> None:
        """The call is over: drop what is queued, wake whoever waits, take no more audio (idempotent)."""
        self._closed = True
        self._chunks.clear()
        self._queued = 0
        self.available.clear()
        self.drained.set()

    async def wait_drained(self) -> None:
        """Until everything queued so far has been played (or cleared, or the call ended)."""
        await self.drained.wait()

    @property
    def played(self) -> int:
        """Agent samples the caller has heard since the call began."""
        self._played_high = self._sent - self._held()
        return self._played_high

    @property
    def pending(self) -> int:
        """Agent samples queued here or held downstream: not yet heard."""
        return self._queued + self._held()

    @property
    def queued(self) -> int:
        """Agent samples queued here, not yet taken by the transport."""
        return self._queued

    @property
    def sent(self) -> int:
        """Agent samples taken by the transport (silence fill excluded)."""
        return self._sent

    # The transport's side ----------------------------------------------------------------------------------
    def pull(self, frame_samples: int) -> Int16Array:
        """Exactly one frame for a paced sender: queued audio, then silence."""
        out = np.zeros(frame_samples, np.int16)
        self._take_into(out)
        if not self._chunks:
            self.available.clear()
            self.settle()
        return out

    def take(self, max_samples: int) -> Int16Array:
        """Up to `max_samples` of queued audio (fewer, or none, when less is queued) for a buffering sender."""
        out = np.zeros(max(0, min(max_samples, self._queued)), np.int16)
        self._take_into(out)
        if not self._chunks:
            self.available.clear()
        return out  # `drained` waits for the transport's `settle()`: the audio is in neither buffer yet

    def give_back(self, samples: Int16Array) -> None:
        """The transport could not send the end of what it took: it goes first next time."""
        if samples.size and not self._closed:
            self._chunks.appendleft(np.ascontiguousarray(samples, dtype=np.int16))
            self._queued += int(samples.size)
            self._sent -= int(samples.size)
            self.drained.clear()
            self.available.set()

    def settle(self, *, downstream_empty: bool = False) -> None:
        """A buffering transport calls this as its own buffer empties (`downstream_empty` when it knows it is):
        `drained` once nothing is left at all."""
        if self._queued == 0 and (downstream_empty or self._held() == 0):
            self.drained.set()

    def _take_into(self, out: Int16Array) -> int:
        filled = 0
        while filled < out.size and self._chunks:
            head = self._chunks[0]
            take = min(int(out.size) - filled, int(head.size))
            out[filled : filled + take] = head[:take]
            filled += take
            if take == head.size:
                self._chunks.popleft()
            else:
                self._chunks[0] = head[take:]
        self._queued -= filled
        self._sent += filled
        return filled

    def _held(self) -> int:
        """What the transport's own buffer still holds, never more than what left us unheard."""
        return max(0, min(self._downstream(), self._sent - self._played_high))
