"""Audio frames (int16 mono + rate), float/int16 conversion, and a reframer that cuts streams into 20 ms frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FRAME_MS = 20

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]

_INT16_SCALE = 32768.0


def samples_per_frame(sample_rate: int, frame_ms: int = FRAME_MS) -> int:
    """Samples in one frame; the rate must divide into whole-sample frames (true for 8/16/24/32/44.1/48 kHz)."""
    if sample_rate <= 0 or frame_ms <= 0:
        raise ValueError(f"sample_rate and frame_ms must be positive, got {sample_rate} and {frame_ms}")
    if (sample_rate * frame_ms) % 1000:
        raise ValueError(f"{frame_ms} ms at {sample_rate} Hz is not a whole number of samples")
    return sample_rate * frame_ms // 1000


def float_to_int16(samples: npt.NDArray[np.floating]) -> Int16Array:
    """Float audio in -1..1 to int16, rounding and clipping anything outside full scale."""
    scaled = np.rint(np.asarray(samples, dtype=np.float64) * _INT16_SCALE)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def int16_to_float(samples: Int16Array) -> Float32Array:
    """int16 audio to float32 in -1..1 (exact inverse of float_to_int16 on int16 values)."""
    return (np.asarray(samples, dtype=np.float32) / np.float32(_INT16_SCALE)).astype(np.float32)


@dataclass(frozen=True, eq=False)
class AudioFrame:
    """A chunk of mono int16 audio and its sample rate.

    Frozen so a frame can be shared between tasks; the array is not copied, so producers must not
    write into an array after wrapping it in a frame.
    """

    samples: Int16Array
    sample_rate: int

    def __post_init__(self) -> None:
        if not isinstance(self.samples, np.ndarray) or self.samples.dtype != np.int16:
            raise TypeError("AudioFrame.samples must be an int16 numpy array")
        if self.samples.ndim != 1:
            raise ValueError(f"AudioFrame.samples must be mono (1-D), got shape {self.samples.shape}")
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate

    def to_bytes(self) -> bytes:
        """Little-endian 16-bit PCM, the layout of WAV files and most SDKs (RTP L16 is big-endian)."""
        return self.samples.astype("<i2", copy=False).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, sample_rate: int) -> AudioFrame:
        """Wrap little-endian 16-bit PCM bytes (copied, so the frame owns writable memory)."""
        if len(data) % 2:
            raise ValueError(f"16-bit PCM needs an even number of bytes, got {len(data)}")
        samples = np.frombuffer(data, dtype="<i2").astype(np.int16)
        return cls(samples, sample_rate)

    @classmethod
    def silence(cls, sample_rate: int, ms: int = FRAME_MS) -> AudioFrame:
        """Digital silence lasting `ms` milliseconds."""
        return cls(np.zeros(samples_per_frame(sample_rate, ms), dtype=np.int16), sample_rate)


class Reframer:
    """Cuts arbitrary-length int16 chunks into exact fixed-length frames, keeping the remainder for later."""

    def __init__(self, sample_rate: int, frame_ms: int = FRAME_MS) -> None:
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.frame_samples = samples_per_frame(sample_rate, frame_ms)
        self._pending: Int16Array = np.zeros(0, dtype=np.int16)

    @property
    def pending_samples(self) -> int:
        """Samples held back because they do not yet fill a frame."""
        return int(self._pending.shape[0])

    def push(self, samples: Int16Array) -> list[AudioFrame]:
        """Add a chunk; return every complete frame now available, in order."""
        chunk = np.asarray(samples)
        if chunk.dtype != np.int16 or chunk.ndim != 1:
            raise TypeError("Reframer.push expects a 1-D int16 array")
        # concatenate copies, so the frames never alias the caller's buffer
        buffer = np.concatenate((self._pending, chunk))
        whole = (buffer.shape[0] // self.frame_samples) * self.frame_samples
        frames = [
            AudioFrame(buffer[start : start + self.frame_samples], self.sample_rate)
            for start in range(0, whole, self.frame_samples)
        ]
        self._pending = buffer[whole:].copy()
        return frames

    def flush(self) -> AudioFrame | None:
        """Return the remainder padded with silence to a full frame (None when nothing is pending)."""
        if self._pending.shape[0] == 0:
            return None
        padded = np.zeros(self.frame_samples, dtype=np.int16)
        padded[: self._pending.shape[0]] = self._pending
        self._pending = np.zeros(0, dtype=np.int16)
        return AudioFrame(padded, self.sample_rate)
