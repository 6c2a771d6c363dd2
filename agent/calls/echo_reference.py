"""EchoReference: feeds the canceller the agent audio exactly as the caller hears it, in step with the caller."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from agent.audio.frames import AudioFrame
from agent.audio.processing import CallAudioProcessor, ProcessingConfig
from agent.audio.resample import StreamResampler
from agent.calls.io import CallIO

Int16Array = npt.NDArray[np.int16]


class EchoReference:
    """Keeps a tape of queued agent audio; each caller frame first hands the canceller what was played
    since the previous frame (the far end), then has its echo and noise removed (the near end)."""

    def __init__(self, io: CallIO, config: ProcessingConfig, rate: int) -> None:
        self._io = io
        self._processor = CallAudioProcessor(config, rate)
        self._to_rate = StreamResampler(io.output_rate, rate)
        self._tape: list[Int16Array] = []
        self._tape_start = 0  # output-stream sample index of the tape's first sample
        self._fed = 0  # output-stream samples already handed to the canceller
        io.playout.observe(on_push=self.queued, on_clear=self.cleared)

    def queued(self, samples: Int16Array) -> None:
        """Agent audio queued for the caller (the call's playout tells us)."""
        self._tape.append(samples)

    def cleared(self) -> None:
        """Unplayed audio was dropped (barge-in): forget it too."""
        played = self._io.played_samples
        tape = np.concatenate(self._tape) if self._tape else np.zeros(0, np.int16)
        self._tape = [tape[: max(0, played - self._tape_start)]]

    def process(self, frame: AudioFrame) -> AudioFrame:
        played = self._io.played_samples
        if played > self._fed and self._tape:
            tape = np.concatenate(self._tape)
            start, end = self._fed - self._tape_start, played - self._tape_start
            chunk = tape[max(0, start) : max(0, end)]
            self._tape, self._tape_start = [tape[max(0, end) :]], played
            self._fed = played
            far = self._to_rate.push(chunk)
            if far.size:
                self._processor.process_far(far)
        return self._processor.process_near(frame)

    async def aclose(self) -> None:
        await self._processor.aclose()
