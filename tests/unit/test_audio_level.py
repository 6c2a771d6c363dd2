"""Trimming the silence TTS engines put around each sentence: the caller hears the first word sooner."""

from __future__ import annotations

import numpy as np
import pytest

from agent.audio.level import trim_silence

pytestmark = pytest.mark.unit
RATE = 24000


def padded_word(lead_s: float, word_s: float, tail_s: float) -> np.ndarray:
    t = np.arange(int(word_s * RATE)) / RATE
    word = (np.sin(2 * np.pi * 200 * t) * 8000).astype(np.int16)
    hiss = np.full(int(lead_s * RATE), 3, np.int16)  # an engine's near-silent padding, not digital zero
    return np.concatenate([hiss, word, np.zeros(int(tail_s * RATE), np.int16)])


def test_the_lead_and_tail_padding_is_cut_to_what_is_kept() -> None:
    clip = padded_word(0.35, 1.0, 0.48)
    trimmed = trim_silence(clip, RATE, keep_lead_s=0.02, keep_tail_s=0.2)
    assert abs(trimmed.size / RATE - (0.02 + 1.0 + 0.2)) < 0.011
    first_loud = int(np.flatnonzero(np.abs(trimmed) > 1000)[0])
    assert first_loud / RATE <= 0.03  # the first word starts within 30 ms


def test_the_word_itself_is_never_cut() -> None:
    clip = padded_word(0.0, 0.5, 0.0)
    trimmed = trim_silence(clip, RATE, keep_lead_s=0.02, keep_tail_s=0.2)
    assert np.array_equal(trimmed, clip[: trimmed.size]) and trimmed.size >= clip.size - RATE // 100


def test_all_silent_or_tiny_audio_comes_back_unchanged() -> None:
    quiet = np.zeros(RATE, np.int16)
    assert trim_silence(quiet, RATE, keep_lead_s=0.02, keep_tail_s=0.2).size == RATE
    tiny = np.array([1, 2, 3], np.int16)
    assert np.array_equal(trim_silence(tiny, RATE, keep_lead_s=0.02, keep_tail_s=0.2), tiny)
