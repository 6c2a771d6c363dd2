"""Signal level measures (RMS and dBFS) for int16 or float audio, used by the VAD energy gate and logs."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

# Reported for digital silence instead of -inf, so levels stay finite in logs and JSON.
DBFS_FLOOR = -120.0

_INT16_FULL_SCALE = 32768.0


def rms(samples: npt.NDArray[np.generic]) -> float:
    """Root mean square normalised to 0..1 of full scale.

    int16 samples are divided by 32768; float samples are taken as already normalised to -1..1.
    An empty array has an RMS of 0.0.
    """
    if samples.size == 0:
        return 0.0
    values = samples.astype(np.float64, copy=False)
    level = math.sqrt(float(np.mean(np.square(values))))
    if np.issubdtype(samples.dtype, np.integer):
        level /= _INT16_FULL_SCALE
    return level


def dbfs(samples: npt.NDArray[np.generic]) -> float:
    """Level in dB relative to full scale (a full-scale square wave is 0 dBFS, a full-scale sine -3 dBFS).

    Digital silence (and an empty array) reads DBFS_FLOOR.
    """
    return rms_to_dbfs(rms(samples))


def peak(samples: npt.NDArray[np.generic]) -> float:
    """Largest absolute sample, normalised to 0..1 of full scale (1.0 means the signal clips)."""
    if samples.size == 0:
        return 0.0
    largest = float(np.max(np.abs(samples.astype(np.float64, copy=False))))
    if np.issubdtype(samples.dtype, np.integer):
        largest /= _INT16_FULL_SCALE
    return largest


def rms_to_dbfs(level: float) -> float:
    """A normalised RMS level in dBFS (DBFS_FLOOR for zero)."""
    if level <= 0.0:
        return DBFS_FLOOR
    return max(20.0 * math.log10(level), DBFS_FLOOR)


def dbfs_to_rms(decibels: float) -> float:
    """A dBFS figure as a normalised RMS level, e.g. for thresholds configured in dB (-38.4 dBFS ~ 0.012)."""
    return float(10.0 ** (decibels / 20.0))


def trim_silence(
    samples: npt.NDArray[np.int16],
    rate: int,
    *,
    keep_lead_s: float,
    keep_tail_s: float,
    threshold_dbfs: float = -45.0,
) -> npt.NDArray[np.int16]:
    """Cut silence (10 ms windows below `threshold_dbfs`) from both ends of a clip, keeping a little of it.

    TTS engines pad each sentence (hibari: ~0.3 s before, ~0.45 s after); before the first word that padding
    is pure waiting for a caller, and between sentences it adds up to a sluggish 0.75 s pause. All-silent
    audio comes back unchanged.
    """
    window = max(1, rate // 100)
    usable = samples.size // window * window
    if usable == 0:
        return samples
    frames = samples[:usable].reshape(-1, window).astype(np.float64)
    loud = np.flatnonzero(
        np.sqrt(np.mean(frames**2, axis=1)) > dbfs_to_rms(threshold_dbfs) * _INT16_FULL_SCALE
    )
    if loud.size == 0:
        return samples
    start = max(0, int(loud[0]) * window - round(keep_lead_s * rate))
    end = min(samples.size, (int(loud[-1]) + 1) * window + round(keep_tail_s * rate))
    return samples[start:end]
