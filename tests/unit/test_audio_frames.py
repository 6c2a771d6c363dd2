"""Frames, float/int16 conversion, the 20 ms reframer and level measures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent.audio.frames import (
    FRAME_MS,
    AudioFrame,
    Reframer,
    float_to_int16,
    int16_to_float,
    samples_per_frame,
)
from agent.audio.level import DBFS_FLOOR, dbfs, dbfs_to_rms, peak, rms, rms_to_dbfs

pytestmark = pytest.mark.unit


def test_frame_reports_its_length_and_duration() -> None:
    frame = AudioFrame(np.zeros(320, dtype=np.int16), 16000)
    assert frame.num_samples == 320
    assert frame.duration_s == pytest.approx(0.020)


def test_frame_bytes_are_little_endian_pcm16_and_round_trip() -> None:
    frame = AudioFrame(np.array([1, -2, 32767, -32768], dtype=np.int16), 8000)
    data = frame.to_bytes()
    assert data[:4] == b"\x01\x00\xfe\xff"
    back = AudioFrame.from_bytes(data, 8000)
    assert np.array_equal(back.samples, frame.samples)
    assert back.sample_rate == 8000
    assert back.samples.flags.writeable


def test_from_bytes_rejects_an_odd_byte_count() -> None:
    with pytest.raises(ValueError):
        AudioFrame.from_bytes(b"\x00\x01\x02", 8000)


@pytest.mark.parametrize(("rate", "ms", "samples"), [(8000, 20, 160), (16000, 20, 320), (48000, 10, 480)])
def test_silence_is_zeros_of_the_requested_length(rate: int, ms: int, samples: int) -> None:
    frame = AudioFrame.silence(rate, ms)
    assert frame.num_samples == samples
    assert not frame.samples.any()


def test_frame_rejects_wrong_dtype_shape_or_rate() -> None:
    with pytest.raises(TypeError):
        AudioFrame(np.zeros(160, dtype=np.float32), 8000)
    with pytest.raises(ValueError):
        AudioFrame(np.zeros((160, 2), dtype=np.int16), 8000)
    with pytest.raises(ValueError):
        AudioFrame(np.zeros(160, dtype=np.int16), 0)


def test_frame_is_immutable() -> None:
    frame = AudioFrame.silence(8000)
    with pytest.raises(AttributeError):
        frame.sample_rate = 16000  # type: ignore[misc]


def test_samples_per_frame_refuses_fractional_frames() -> None:
    assert samples_per_frame(22050, 20) == 441
    with pytest.raises(ValueError):
        samples_per_frame(11025, 20)


def test_float_to_int16_rounds_and_clips() -> None:
    converted = float_to_int16(np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0, 1e-5], dtype=np.float32))
    assert converted.dtype == np.int16
    assert converted.tolist() == [0, 16384, -16384, 32767, -32768, 32767, -32768, 0]


def test_int16_to_float_and_back_is_exact_for_every_value() -> None:
    every = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
    as_float = int16_to_float(every)
    assert as_float.dtype == np.float32
    assert float(as_float.min()) == -1.0
    assert float(as_float.max()) < 1.0
    assert np.array_equal(float_to_int16(as_float), every)


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_reframer_cuts_ragged_chunks_into_exact_frames_without_losing_samples(rate: int) -> None:
    rng = np.random.default_rng(rate)
    signal = rng.integers(-32768, 32767, size=rate, dtype=np.int16)  # one second
    reframer = Reframer(rate)
    frames: list[AudioFrame] = []
    position = 0
    while position < signal.size:
        size = int(rng.integers(1, rate // 25))  # up to 40 ms, mostly not a frame multiple
        frames.extend(reframer.push(signal[position : position + size]))
        position += size
    assert all(f.num_samples == rate * FRAME_MS // 1000 and f.sample_rate == rate for f in frames)
    assert len(frames) == 1000 // FRAME_MS
    assert reframer.pending_samples == 0
    assert np.array_equal(np.concatenate([f.samples for f in frames]), signal)
    assert reframer.flush() is None


def test_reframer_keeps_the_remainder_and_flush_pads_it_with_silence() -> None:
    reframer = Reframer(8000)
    assert reframer.push(np.arange(100, dtype=np.int16)) == []
    assert reframer.pending_samples == 100
    frames = reframer.push(np.arange(100, 300, dtype=np.int16))
    assert len(frames) == 1
    assert frames[0].samples.tolist() == list(range(160))
    tail = reframer.flush()
    assert tail is not None
    assert tail.num_samples == 160
    assert tail.samples[:140].tolist() == list(range(160, 300))
    assert not tail.samples[140:].any()
    assert reframer.flush() is None


def test_reframer_frames_do_not_alias_the_callers_buffer() -> None:
    reframer = Reframer(8000)
    chunk = np.ones(160, dtype=np.int16)
    (frame,) = reframer.push(chunk)
    chunk[:] = 7
    assert np.all(frame.samples == 1)


def test_reframer_supports_other_frame_lengths() -> None:
    reframer = Reframer(16000, frame_ms=10)
    frames = reframer.push(np.zeros(16000 // 100 * 3 + 5, dtype=np.int16))
    assert [f.num_samples for f in frames] == [160, 160, 160]
    assert reframer.pending_samples == 5


def test_reframer_rejects_float_chunks() -> None:
    with pytest.raises(TypeError):
        Reframer(8000).push(np.zeros(160, dtype=np.float32))


def test_rms_and_dbfs_of_known_signals() -> None:
    t = np.arange(8000) / 8000
    sine = float_to_int16(0.5 * np.sin(2 * np.pi * 440 * t))
    assert rms(sine) == pytest.approx(0.5 / math.sqrt(2), rel=1e-3)
    assert dbfs(sine) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.01)
    square = np.where(np.arange(800) % 2, 32767, -32768).astype(np.int16)
    assert rms(square) == pytest.approx(1.0, abs=1e-4)
    assert dbfs(square) == pytest.approx(0.0, abs=0.01)
    assert rms(np.array([0.25, -0.25], dtype=np.float32)) == pytest.approx(0.25)


def test_levels_of_silence_and_empty_input_stay_finite() -> None:
    assert rms(np.zeros(160, dtype=np.int16)) == 0.0
    assert rms(np.zeros(0, dtype=np.int16)) == 0.0
    assert dbfs(np.zeros(160, dtype=np.int16)) == DBFS_FLOOR
    assert peak(np.zeros(0, dtype=np.int16)) == 0.0


def test_peak_and_db_conversions() -> None:
    assert peak(np.array([0, -16384, 100], dtype=np.int16)) == pytest.approx(0.5)
    assert peak(np.array([-32768], dtype=np.int16)) == 1.0
    assert rms_to_dbfs(0.012) == pytest.approx(-38.42, abs=0.01)
    assert dbfs_to_rms(rms_to_dbfs(0.012)) == pytest.approx(0.012)
    assert rms_to_dbfs(0.0) == DBFS_FLOOR
