"""Outbox: agent audio waiting for a paced sender that pulls one frame at a time (silence when nothing waits)."""

from __future__ import annotations

import asyncio
from collections import deque

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


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
