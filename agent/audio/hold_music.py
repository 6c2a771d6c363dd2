"""Hold music made on the spot: a quiet, looping four-chord progression (no audio file to ship or license)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from agent.audio.frames import float_to_int16

# I - vi - IV - V in C major, as soft electric-piano-like chords (fundamentals in Hz).
_CHORDS = (
    (261.63, 329.63, 392.00),
    (220.00, 261.63, 329.63),
    (174.61, 220.00, 261.63),
    (196.00, 246.94, 293.66),
)
_CHORD_S = 1.6
_LEVEL = 0.06  # about -24 dBFS: clearly music, never louder than the agent's voice


def _chord(freqs: tuple[float, ...], rate: int) -> npt.NDArray[np.float64]:
    t = np.arange(int(_CHORD_S * rate)) / rate
    envelope = np.minimum(1.0, t / 0.03) * np.exp(-1.8 * t)  # quick attack, piano-like decay
    tone = np.zeros_like(t)
    for index, freq in enumerate(freqs):
        arpeggio_delay = index * 0.12
        delayed = np.clip(t - arpeggio_delay, 0, None)
        partials = np.sin(2 * np.pi * freq * delayed) + 0.3 * np.sin(2 * np.pi * 2 * freq * delayed)
        tone += np.where(t >= arpeggio_delay, partials, 0.0)
    shaped: npt.NDArray[np.float64] = tone * envelope
    return shaped


def hold_music_loop(rate: int) -> npt.NDArray[np.int16]:
    """One loop (about 6.4 s) of hold music at `rate`, seamless when repeated."""
    if rate < 8000:
        raise ValueError(f"hold music needs at least 8 kHz, got {rate}")
    music = np.concatenate([_chord(chord, rate) for chord in _CHORDS])
    peak = float(np.max(np.abs(music))) or 1.0
    return float_to_int16(music / peak * _LEVEL * 4)
