"""The agent's voice as an aiortc track: a paced 48 kHz frame pulled from the call's playout every 20 ms."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from agent.audio.frames import samples_per_frame
from agent.calls.playout import Playout

Int16Array = npt.NDArray[np.int16]
OUT_RATE = 48000  # what we hand aiortc's Opus encoder: 48 kHz mono s16, 20 ms frames
OUT_FRAME = samples_per_frame(OUT_RATE)


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

    def __init__(self, playout: Playout, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._playout = playout
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
        return outgoing_frame(self._playout.pull(OUT_FRAME), self._pts)
