"""Sample-rate conversion with soxr: a stateful stream resampler for live audio and a one-shot function."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import soxr  # type: ignore[import-untyped]

Int16Array = npt.NDArray[np.int16]
Quality = Literal["MQ", "HQ", "VHQ"]

# The rates the pipeline moves between: G.711 phone audio, Whisper/webrtcvad, TTS output, WebRTC/Opus.
SUPPORTED_RATES = (8000, 16000, 24000, 48000)

# Measured on int16 audio with 20 ms chunks: MQ, HQ and VHQ all keep tones flat to 0.02 dB up to 0.92 of
# the lower Nyquist, reject aliases by more than int16 can show (87 dB), and run at the same speed; they
# differ only in how much audio the stream holds back. Held back, in ms (MQ / HQ / VHQ):
#   8k<->16k 26/66/53, 8k<->48k 35/137/65, 24k->8k 15/21/38, 24k->16k 15/21/38, 16k->48k 15/21/38.
# MQ is the lowest-latency choice that is still transparent at 16 bits, so it is the default.
DEFAULT_QUALITY: Quality = "MQ"

# soxr dithers int16 output with a randomly seeded generator, so the same input gives outputs that differ
# by 1 LSB from run to run. Converting through float32 ourselves keeps replays bit-for-bit reproducible
# (at about 20 us per 20 ms chunk instead of 9).
_SCALE = np.float32(32768.0)


def _to_float(samples: Int16Array) -> npt.NDArray[np.float32]:
    return samples.astype(np.float32) / _SCALE


def _to_int16(samples: npt.NDArray[np.float32]) -> Int16Array:
    scaled: npt.NDArray[np.float32] = np.rint(samples * _SCALE)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    return scaled.astype(np.int16)


def _check_rate(rate: int) -> None:
    if not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"sample rate must be a positive integer, got {rate!r}")


def _as_int16(samples: npt.ArrayLike) -> Int16Array:
    array = np.asarray(samples)
    if array.dtype != np.int16 or array.ndim != 1:
        raise TypeError(f"resampling takes 1-D int16 samples, got {array.dtype} with shape {array.shape}")
    return np.ascontiguousarray(array)


class StreamResampler:
    """Resamples one continuous stream chunk by chunk, keeping the filter state between chunks.

    Output has no group delay against the input, but the filter holds back a few tens of ms of audio
    until more input (or flush) arrives. When the two rates are equal, chunks pass through untouched.
    After flush() the stream is reset and can carry a new, unrelated signal.
    """

    def __init__(self, in_rate: int, out_rate: int, quality: Quality = DEFAULT_QUALITY) -> None:
        _check_rate(in_rate)
        _check_rate(out_rate)
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.quality = quality
        self._stream: soxr.ResampleStream | None = None
        if in_rate != out_rate:
            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)

    @property
    def passthrough(self) -> bool:
        return self._stream is None

    def push(self, samples: npt.ArrayLike) -> Int16Array:
        """Feed the next chunk of input; return whatever output is ready (possibly empty)."""
        chunk = _as_int16(samples)
        if self._stream is None:
            return chunk
        return _to_int16(self._stream.resample_chunk(_to_float(chunk)))

    def flush(self) -> Int16Array:
        """End the stream: return the held-back tail and reset for the next stream."""
        if self._stream is None:
            return np.zeros(0, dtype=np.int16)
        tail = _to_int16(self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
        self._stream.clear()
        return tail

    def reset(self) -> None:
        """Drop held-back audio without emitting it (barge-in: the rest of the utterance is discarded)."""
        if self._stream is not None:
            self._stream.clear()


def resample(
    samples: npt.ArrayLike, in_rate: int, out_rate: int, quality: Quality = DEFAULT_QUALITY
) -> Int16Array:
    """Resample a whole int16 signal at once."""
    _check_rate(in_rate)
    _check_rate(out_rate)
    signal = _as_int16(samples)
    if in_rate == out_rate:
        return signal.copy()
    if signal.shape[0] == 0:
        return np.zeros(0, dtype=np.int16)
    return _to_int16(soxr.resample(_to_float(signal), in_rate, out_rate, quality=quality))
