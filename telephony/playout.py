"""The agent's paced 48 kHz output: the Outbox of agent audio and the track that pulls it every 20 ms."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from agent.audio.frames import samples_per_frame

Int16Array = npt.NDArray[np.int16]
OUT_RATE = 48000  # what we hand aiortc's Opus encoder: 48 kHz mono s16, 20 ms frames
OUT_FRAME = samples_per_frame(OUT_RATE)


class Outbox:
    """Agent audio waiting for the sender: one 20 ms frame per pull, silence when empty; counts what was sent."""

    def __init__(self, frame_samples: int) -> None:
        self.frame_samples = frame_samples
        self._chunks: deque[Int16Array] = deque()
        self.queued = 0
        self.sent = 0  # agent samples handed to the encoder (what the caller hears), silence excluded
        self.drained = asyncio.Event()
        self.drained.set()

    def push(self, samples: Int16Array) -> None:
        if samples.size:
            self._chunks.append(np.ascontiguousarray(samples, dtype=np.int16))
            self.queued += int(samples.size)
            self.drained.clear()

    def pull(self) -> Int16Array:
        out = np.zeros(self.frame_samples, np.int16)
        filled = 0
        while filled < self.frame_samples and self._chunks:
            head = self._chunks[0]
            take = min(self.frame_samples - filled, int(head.size))
            out[filled : filled + take] = head[:take]
            filled += take
            if take == head.size:
                self._chunks.popleft()
            else:
                self._chunks[0] = head[take:]
        self.queued -= filled
        self.sent += filled
        if not self._chunks:
            self.drained.set()
        return out

    def clear(self) -> int:
        dropped = self.queued
        self._chunks.clear()
        self.queued = 0
        self.drained.set()
        return dropped


def outgoing_frame(samples: Int16Array, pts: int) -> av.AudioFrame:
    """One 48 kHz mono s16 frame for the sender, stamped in samples."""
    frame = av.AudioFrame(format="s16", layout="mono", samples=int(samples.size))
    frame.planes[0].update(np.ascontiguousarray(samples, dtype=np.int16).tobytes())
    frame.pts = pts
    frame.sample_rate = OUT_RATE
    frame.time_base = fractions.Fraction(1, OUT_RATE)
    return frame


class AgentVoiceTrack(MediaStreamTrack):
    """The agent's outgoing audio track: aiortc's sender calls recv() in a loop; we pace it at 20 ms."""

    kind = "audio"

    def __init__(self, outbox: Outbox, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._outbox = outbox
        self._clock = clock
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = self._clock()
        else:
            self._pts += OUT_FRAME
            wait = self._start + self._pts / OUT_RATE - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
        return outgoing_frame(self._outbox.pull(), self._pts)
