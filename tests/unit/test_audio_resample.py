"""Resampling: tones keep frequency and level, images and aliases are removed, streams match one-shot."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from agent.audio.frames import float_to_int16
from agent.audio.resample import SUPPORTED_RATES, StreamResampler, resample

pytestmark = pytest.mark.unit

RATE_PAIRS = [(a, b) for a, b in itertools.product(SUPPORTED_RATES, SUPPORTED_RATES) if a != b]


def tone(frequency: float, rate: int, seconds: float, amplitude: float = 0.5) -> npt.NDArray[np.int16]:
    t = np.arange(round(rate * seconds)) / rate
    return float_to_int16(amplitude * np.sin(2 * np.pi * frequency * t))


def spectrum(
    samples: npt.NDArray[np.int16], rate: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Amplitude spectrum (in units of full scale) of the middle of a signal, away from its edges."""
    middle = samples[samples.size // 4 : samples.size * 3 // 4].astype(np.float64) / 32768
    window = np.hanning(middle.size)
    amplitudes = np.abs(np.fft.rfft(middle * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(middle.size, 1 / rate).astype(np.float64)
    return freqs, amplitudes.astype(np.float64)


def level_near(freqs: npt.NDArray[np.float64], amps: npt.NDArray[np.float64], frequency: float) -> float:
    return float(amps[np.abs(freqs - frequency) < 30].max())


def stream(resampler: StreamResampler, signal: npt.NDArray[np.int16], chunk: int) -> npt.NDArray[np.int16]:
    pieces = [resampler.push(signal[i : i + chunk]) for i in range(0, signal.size, chunk)]
    return np.concatenate([*pieces, resampler.flush()])


def test_a_1khz_tone_survives_8k_to_48k_and_back() -> None:
    original = tone(1000, 8000, 1.0)
    up = stream(StreamResampler(8000, 48000), original, 160)
    down = stream(StreamResampler(48000, 8000), up, 960)
    for signal, rate in ((up, 48000), (down, 8000)):
        freqs, amps = spectrum(signal, rate)
        assert freqs[np.argmax(amps)] == pytest.approx(1000, abs=5)
        assert level_near(freqs, amps, 1000) == pytest.approx(0.5, rel=0.01)
    # and sample for sample, away from the ends, the round trip is the original
    middle = slice(800, 7200)
    assert np.abs(down[middle].astype(np.int32) - original[middle]).max() <= 8


def test_upsampling_leaves_no_images_above_the_old_nyquist() -> None:
    # a naive upsampler leaves mirror images of 1 kHz at 7 and 9 kHz (8 kHz - 1 kHz, 8 kHz + 1 kHz)
    up = resample(tone(1000, 8000, 1.0), 8000, 48000)
    freqs, amps = spectrum(up, 48000)
    assert level_near(freqs, amps, 7000) < 0.5 * 1e-3  # more than 60 dB down
    assert level_near(freqs, amps, 9000) < 0.5 * 1e-3


@pytest.mark.parametrize("in_rate", [16000, 24000, 48000])
def test_downsampling_removes_tones_above_the_new_nyquist(in_rate: int) -> None:
    # 5 kHz cannot exist at 8 kHz; without filtering it would alias to 3 kHz
    mixed = tone(5000, in_rate, 1.0, 0.4) + tone(700, in_rate, 1.0, 0.4)
    down = resample(mixed, in_rate, 8000)
    freqs, amps = spectrum(down, 8000)
    assert level_near(freqs, amps, 700) == pytest.approx(0.4, rel=0.01)
    assert level_near(freqs, amps, 3000) < 0.4 * 1e-3


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
@pytest.mark.parametrize("chunk_ms", [10, 20])
def test_streaming_in_small_chunks_matches_one_shot(in_rate: int, out_rate: int, chunk_ms: int) -> None:
    rng = np.random.default_rng(in_rate + out_rate)
    signal = (
        tone(440, in_rate, 1.0, 0.3).astype(np.int32) + rng.normal(0, 1000, in_rate).astype(np.int32)
    ).astype(np.int16)
    streamed = stream(StreamResampler(in_rate, out_rate), signal, in_rate * chunk_ms // 1000)
    whole = resample(signal, in_rate, out_rate)
    frame = out_rate // 50
    assert abs(streamed.size - out_rate) <= frame
    assert abs(whole.size - out_rate) <= frame
    common = min(streamed.size, whole.size)
    assert np.abs(streamed[:common].astype(np.int32) - whole[:common]).max() <= 2


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_a_tone_keeps_its_frequency_and_level_at_every_rate_pair(in_rate: int, out_rate: int) -> None:
    converted = stream(StreamResampler(in_rate, out_rate), tone(1000, in_rate, 0.5, 0.25), in_rate // 50)
    freqs, amps = spectrum(converted, out_rate)
    assert freqs[np.argmax(amps)] == pytest.approx(1000, abs=10)
    assert level_near(freqs, amps, 1000) == pytest.approx(0.25, rel=0.01)


def test_output_length_tracks_the_ratio_over_a_long_stream() -> None:
    resampler = StreamResampler(24000, 8000)
    produced = 0
    for _ in range(500):  # 10 s in 20 ms chunks
        produced += resampler.push(np.zeros(480, dtype=np.int16)).size
    held_back = 80000 - produced
    assert 0 <= held_back <= 160 * 3  # a little latency, never a drift
    assert produced + resampler.flush().size == 80000


def test_flush_resets_the_stream_for_the_next_utterance() -> None:
    resampler = StreamResampler(16000, 8000)
    signal = tone(300, 16000, 0.3)
    first = stream(resampler, signal, 320)
    second = stream(resampler, signal, 320)
    assert np.array_equal(first, second)


def test_reset_drops_held_back_audio() -> None:
    resampler = StreamResampler(8000, 16000)
    resampler.push(tone(500, 8000, 0.1))
    resampler.reset()
    assert resampler.flush().size == 0


def test_equal_rates_pass_through_untouched() -> None:
    resampler = StreamResampler(16000, 16000)
    chunk = tone(440, 16000, 0.02)
    assert resampler.passthrough
    assert np.array_equal(resampler.push(chunk), chunk)
    assert resampler.flush().size == 0
    assert np.array_equal(resample(chunk, 16000, 16000), chunk)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        StreamResampler(0, 8000)
    with pytest.raises(TypeError):
        StreamResampler(8000, 16000).push(np.zeros(160, dtype=np.float32))
    with pytest.raises(TypeError):
        resample(np.zeros((160, 2), dtype=np.int16), 8000, 16000)


def test_empty_input_gives_empty_output() -> None:
    assert resample(np.zeros(0, dtype=np.int16), 8000, 16000).size == 0
    assert StreamResampler(8000, 16000).push(np.zeros(0, dtype=np.int16)).size == 0


def test_output_is_reproducible_across_resamplers() -> None:
    # replays must give the same audio every time (soxr's own int16 output is randomly dithered)
    signal = tone(440, 48000, 0.2)
    assert np.array_equal(
        stream(StreamResampler(48000, 8000), signal, 960), stream(StreamResampler(48000, 8000), signal, 960)
    )
