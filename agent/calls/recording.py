"""RecordingCallIO: wraps any CallIO and records both sides of the call as the caller heard it."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from agent.audio.frames import AudioFrame
from agent.audio.resample import StreamResampler
from agent.audio.wav import write_wav_channels
from agent.calls.io import CallIO, DtmfDigit
from agent.calls.playout import Playout
from agent.log import get_logger

log = get_logger(__name__)

Int16Array = npt.NDArray[np.int16]
DEFAULT_MAX_DURATION_S = 2 * 60 * 60.0
# Join a run of contiguous chunks once it holds this many samples (about 16 s at 16 kHz).
_COMPACT_SAMPLES = 1 << 18
# Resample a long agent track a block at a time rather than all of it at once in float.
_RESAMPLE_BLOCK = 1 << 20


def recording_file(root: Path, call_id: str, started: datetime) -> Path:
    """Where a call's recording goes: `<root>/<UTC day>/<call id>-<HHMMSS>-<random>.wav`. The time and the
    random part keep it unique, so a Call-ID a phone uses again never overwrites an earlier recording."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)[:100] or "call"
    return (
        root
        / started.strftime("%Y-%m-%d")
        / f"{safe}-{started.strftime('%H%M%S')}-{secrets.token_hex(4)}.wav"
    )


class _Track:
    """One channel of the recording: pieces of audio placed at sample positions, silence in between.

    Contiguous chunks (20 ms caller frames, a streamed reply) are joined into long runs, so a two-hour
    call is a few hundred arrays rather than hundreds of thousands.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit  # no audio is kept at or beyond this sample position
        self._runs: list[tuple[int, Int16Array]] = []
        self._open_start = 0
        self._open: list[Int16Array] = []
        self._open_len = 0

    @property
    def end(self) -> int:
        """The position just after the last kept sample."""
        if self._open_len:
            return self._open_start + self._open_len
        return self._runs[-1][0] + int(self._runs[-1][1].size) if self._runs else 0

    def place(self, start: int, samples: Int16Array) -> bool:
        """Put audio at `start`; False when the track limit cut some or all of it off."""
        kept = samples[: max(0, self.limit - start)]
        if kept.size:
            if not self._open_len or start != self._open_start + self._open_len:
                self._close()
                self._open_start = start
            self._open.append(kept)
            self._open_len += int(kept.size)
            if self._open_len >= _COMPACT_SAMPLES:
                self._close()
        return kept.size == samples.size

    def truncate(self, end: int) -> None:
        """Drop everything at or after sample position `end`."""
        self._close()
        while self._runs and self._runs[-1][0] >= end:
            self._runs.pop()
        if self._runs:
            start, run = self._runs[-1]
            if start + run.size > end:
                self._runs[-1] = (start, run[: end - start])

    def snapshot(self) -> list[tuple[int, Int16Array]]:
        self._close()
        return list(self._runs)

    def _close(self) -> None:
        if self._open_len:
            run = self._open[0] if len(self._open) == 1 else np.concatenate(self._open)
            self._runs.append((self._open_start, run))
        self._open, self._open_len = [], 0


def _render(runs: list[tuple[int, Int16Array]]) -> Int16Array:
    length = runs[-1][0] + int(runs[-1][1].size) if runs else 0
    out = np.zeros(length, np.int16)
    for start, run in runs:
        out[start : start + run.size] = run
    return out


def _resampled(samples: Int16Array, in_rate: int, out_rate: int) -> Int16Array:
    stream = StreamResampler(in_rate, out_rate)
    parts = [
        stream.push(samples[start : start + _RESAMPLE_BLOCK])
        for start in range(0, samples.size, _RESAMPLE_BLOCK)
    ]
    parts.append(stream.flush())
    return np.concatenate(parts)


def _write_stereo(
    path: Path,
    caller: list[tuple[int, Int16Array]],
    agent: list[tuple[int, Int16Array]],
    input_rate: int,
    output_rate: int,
) -> None:
    left = _render(caller)
    right = _render(agent)
    if output_rate != input_rate and right.size:
        right = _resampled(right, output_rate, input_rate)
    length = max(left.size, right.size)
    left = np.pad(left, (0, length - left.size))
    right = np.pad(right, (0, length - right.size))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav_channels(path, [left, right], input_rate)


class RecordingCallIO(CallIO):
    """A CallIO that passes everything through to `inner` and keeps a two-track recording.

    Left track: every caller frame as it arrives. Right track: agent audio placed where the caller hears
    it, i.e. after whatever is still queued, or at the caller's current media position when nothing is;
    a barge-in `clear()` cuts off the audio that was never played. Only the `frames()` iterator of this
    wrapper records the caller, so the session must read frames through it. Past `max_duration_s` the
    recording stops (logged once) while the call goes on.
    """

    def __init__(self, inner: CallIO, *, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> None:
        if max_duration_s <= 0:
            raise ValueError(f"max_duration_s must be positive, got {max_duration_s}")
        self._inner = inner
        self.max_duration_s = max_duration_s
        self._caller = _Track(round(max_duration_s * inner.input_rate))
        self._agent = _Track(round(max_duration_s * inner.output_rate))
        self._caller_samples = 0  # caller audio received, recorded or not (the media clock)
        self._agent_end = 0  # where queued agent audio ends, in output-rate samples, before the cap
        self._ended = False
        self._capped = False

    # Identity and rates are the inner call's; set them (if at all) before the call's audio starts -----
    @property
    def call_id(self) -> str:
        return self._inner.call_id

    @call_id.setter
    def call_id(self, value: str) -> None:
        self._inner.call_id = value

    @property
    def caller_id(self) -> str | None:
        return self._inner.caller_id

    @caller_id.setter
    def caller_id(self, value: str | None) -> None:
        self._inner.caller_id = value

    @property
    def caller_verified(self) -> bool:
        return self._inner.caller_verified

    @caller_verified.setter
    def caller_verified(self, value: bool) -> None:
        self._inner.caller_verified = value

    @property
    def input_rate(self) -> int:
        return self._inner.input_rate

    @input_rate.setter
    def input_rate(self, value: int) -> None:
        self._inner.input_rate = value
        self._caller.limit = round(self.max_duration_s * value)

    @property
    def output_rate(self) -> int:
        return self._inner.output_rate

    @output_rate.setter
    def output_rate(self, value: int) -> None:
        self._inner.output_rate = value
        self._agent.limit = round(self.max_duration_s * value)

    @property
    def ended_by(self) -> str | None:
        """Why the media ended, as the inner transport knows it (None where it does not say)."""
        return self._inner.ended_by

    @ended_by.setter
    def ended_by(self, value: str | None) -> None:
        self._inner.ended_by = value

    @property
    def inner(self) -> CallIO:
        return self._inner

    @property
    def playout(self) -> Playout:
        """The inner call's: one outgoing buffer, whoever wraps the call."""
        return self._inner.playout

    @property
    def recorded_s(self) -> float:
        """Seconds of call recorded so far (the longer of the two tracks)."""
        return max(self._caller.end / self.input_rate, self._agent.end / self.output_rate)

    @property
    def capped(self) -> bool:
        """True once the call outlasted `max_duration_s` and the recording stopped."""
        return self._capped

    # Recorded directions ---------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[AudioFrame]:
        source = self._inner.frames()
        try:
            async for frame in source:
                self._record_caller(frame.samples)
                yield frame
        finally:
            self._call_over()
            close = getattr(source, "aclose", None)
            if close is not None:
                await close()

    async def play(self, samples: Int16Array) -> None:
        if not self._ended and samples.size:
            start = max(self._caller_position(), self._agent_end)
            self._agent_end = start + int(samples.size)
            if not self._agent.place(start, samples):
                self._cap()
        await self._inner.play(samples)

    def clear(self) -> int:
        dropped = self._inner.clear()
        if not self._ended:
            self._drop_unplayed(dropped)
        return dropped

    async def hangup(self) -> None:
        if not self._ended:
            self._drop_unplayed(self._inner.queued_samples)  # hanging up drops what is still queued
            self._call_over()
        await self._inner.hangup()

    async def save(self, path: Path | str) -> Path:
        """Write the recording so far as a 16-bit stereo WAV (left caller, right agent) at the input rate."""
        target = Path(path)
        caller, agent = self._caller.snapshot(), self._agent.snapshot()
        await asyncio.to_thread(_write_stereo, target, caller, agent, self.input_rate, self.output_rate)
        log.info("recording.saved", call_id=self.call_id, path=str(target), seconds=round(self.recorded_s, 2))
        return target

    def _caller_position(self) -> int:
        """The caller's media position in output-rate samples."""
        return self._caller_samples * self.output_rate // self.input_rate

    def _record_caller(self, samples: Int16Array) -> None:
        start = self._caller_samples
        self._caller_samples += int(samples.size)
        if not self._caller.place(start, samples):
            self._cap()

    def _drop_unplayed(self, samples: int) -> None:
        if samples > 0:
            self._agent_end = max(0, self._agent_end - samples)
            self._agent.truncate(self._agent_end)

    def _call_over(self) -> None:
        """Queued agent audio the caller never heard (the call ended first) leaves the recording."""
        if not self._ended:
            self._ended = True
            self._agent_end = min(self._agent_end, self._caller_position())
            self._agent.truncate(self._agent_end)

    def _cap(self) -> None:
        if not self._capped:
            self._capped = True
            log.warning("recording.capped", call_id=self.call_id, max_duration_s=self.max_duration_s)

    # Everything else is the inner call's ----------------------------------------------------------
    def dtmf(self) -> AsyncIterator[DtmfDigit]:
        return self._inner.dtmf()

    def now(self) -> float:
        return self._inner.now()

    async def transfer(self, target: str) -> bool:
        return await self._inner.transfer(target)

    def working(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._inner.working()
