"""VAD: speech raises one start and one end at the right virtual times; silence, noise and clicks raise nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from agent.audio.frames import AudioFrame, Reframer, float_to_int16
from agent.audio.resample import resample
from agent.audio.vad import (
    SpeechEnded,
    SpeechStarted,
    VadConfig,
    VadEvent,
    VadState,
    VoiceActivityDetector,
)
from agent.audio.wav import read_wav

pytestmark = pytest.mark.unit

Signal = npt.NDArray[np.int16]
MODES = [pytest.param(True, id="webrtc+energy"), pytest.param(False, id="energy-only")]


def speech_like(rate: int, seconds: float, level: float = 0.1) -> Signal:
    """A voice stand-in: a 120 Hz harmonic series up to 3 kHz with formant peaks, pitch drift, 4 Hz syllables."""
    t = np.arange(round(rate * seconds)) / rate
    f0 = 120 * (1 + 0.08 * np.sin(2 * np.pi * 1.3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = np.zeros_like(t)
    for harmonic in range(1, 26):
        f = 120 * harmonic
        formants = np.exp(-(((f - 500) / 300) ** 2)) + 0.6 * np.exp(-(((f - 1500) / 400) ** 2)) + 0.05
        voice += formants * np.sin(harmonic * phase)
    voice *= 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t - np.pi / 2)
    return float_to_int16(voice / np.sqrt(np.mean(voice**2)) * level)


def silence(rate: int, seconds: float) -> Signal:
    return np.zeros(round(rate * seconds), dtype=np.int16)


def white_noise(rate: int, seconds: float, level: float, seed: int = 0) -> Signal:
    return float_to_int16(np.random.default_rng(seed).normal(0.0, level, round(rate * seconds)))


def run(detector: VoiceActivityDetector, signal: Signal, rate: int) -> list[tuple[VadEvent, VadState]]:
    events = []
    for frame in Reframer(rate).push(signal):
        event = detector.process(frame)
        if event is not None:
            events.append((event, detector.state))
    return events


@pytest.mark.parametrize("use_webrtc", MODES)
@pytest.mark.parametrize("rate", [8000, 16000, 32000, 48000])
def test_silence_stays_quiet(rate: int, use_webrtc: bool) -> None:
    detector = VoiceActivityDetector(VadConfig(use_webrtc=use_webrtc))
    assert run(detector, silence(rate, 2.0), rate) == []
    assert detector.state is VadState.QUIET
    assert not detector.speaking
    assert detector.time_s == pytest.approx(2.0)


@pytest.mark.parametrize("use_webrtc", MODES)
@pytest.mark.parametrize("rate", [8000, 16000, 32000, 48000])
def test_one_second_of_speech_gives_one_start_and_one_end(rate: int, use_webrtc: bool) -> None:
    config = VadConfig(use_webrtc=use_webrtc, stop_frames=15, min_speech_ms=100)
    detector = VoiceActivityDetector(config)
    signal = np.concatenate([silence(rate, 0.5), speech_like(rate, 1.0), silence(rate, 1.0)])
    events = run(detector, signal, rate)
    assert [type(e) for e, _ in events] == [SpeechStarted, SpeechEnded]
    (started, state_after_start), (ended, state_after_end) = events
    assert isinstance(started, SpeechStarted)
    assert isinstance(ended, SpeechEnded)
    assert started.at_s == pytest.approx(0.5, abs=0.04)
    assert 0.5 <= started.detected_at_s <= 0.5 + 0.1 + 1e-9
    assert state_after_start is VadState.SPEAKING
    assert ended.at_s == pytest.approx(1.5, abs=0.04)
    assert ended.detected_at_s == pytest.approx(ended.at_s + 15 * 0.02)
    assert ended.speech_duration_s == pytest.approx(1.0, abs=0.06)
    assert state_after_end is VadState.QUIET
    assert detector.uses_webrtc is use_webrtc


@pytest.mark.parametrize("use_webrtc", MODES)
def test_clicks_shorter_than_min_speech_raise_nothing(use_webrtc: bool) -> None:
    rate = 16000
    click = speech_like(rate, 0.06, level=0.3)  # 60 ms: loud, voiced, but too short to be a word
    signal = np.concatenate(
        [*(np.concatenate([silence(rate, 0.3), click]) for _ in range(8)), silence(rate, 0.3)]
    )
    detector = VoiceActivityDetector(VadConfig(use_webrtc=use_webrtc, min_speech_ms=100))
    assert run(detector, signal, rate) == []
    assert detector.state is VadState.QUIET


@pytest.mark.parametrize("use_webrtc", MODES)
@pytest.mark.parametrize("level", [0.002, 0.005, 0.009])
def test_low_level_white_noise_raises_nothing(use_webrtc: bool, level: float) -> None:
    rate = 8000
    detector = VoiceActivityDetector(VadConfig(use_webrtc=use_webrtc))
    assert run(detector, white_noise(rate, 3.0, level), rate) == []


@pytest.mark.parametrize("use_webrtc", MODES)
def test_speech_over_low_noise_is_still_found(use_webrtc: bool) -> None:
    rate = 8000
    speech = np.concatenate([silence(rate, 0.5), speech_like(rate, 1.0), silence(rate, 1.0)])
    noisy = np.clip(speech.astype(np.int32) + white_noise(rate, 2.5, 0.005), -32768, 32767).astype(np.int16)
    events = run(VoiceActivityDetector(VadConfig(use_webrtc=use_webrtc)), noisy, rate)
    assert [type(e) for e, _ in events] == [SpeechStarted, SpeechEnded]


def test_a_short_pause_inside_speech_does_not_end_it() -> None:
    rate = 16000
    signal = np.concatenate(
        [
            silence(rate, 0.3),
            speech_like(rate, 0.6),
            silence(rate, 0.1),
            speech_like(rate, 0.6),
            silence(rate, 1.0),
        ]
    )
    detector = VoiceActivityDetector(VadConfig(stop_frames=15))  # 300 ms of silence ends speech
    states = []
    events = []
    for frame in Reframer(rate).push(signal):
        event = detector.process(frame)
        states.append(detector.state)
        if event is not None:
            events.append(event)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    assert isinstance(events[1], SpeechEnded)
    assert events[1].speech_duration_s == pytest.approx(1.3, abs=0.06)
    # during the gap the machine was in its grace state, and went back to speaking
    gap = states[(300 + 600) // 20 + 1 : (300 + 600 + 100) // 20]
    assert set(gap) == {VadState.STOPPING}
    assert states[(300 + 700) // 20 + 3] is VadState.SPEAKING


def test_the_same_pause_splits_speech_when_stop_frames_is_short() -> None:
    rate = 16000
    signal = np.concatenate(
        [
            silence(rate, 0.3),
            speech_like(rate, 0.6),
            silence(rate, 0.1),
            speech_like(rate, 0.6),
            silence(rate, 1.0),
        ]
    )
    events = run(VoiceActivityDetector(VadConfig(stop_frames=3)), signal, rate)
    assert [type(e) for e, _ in events] == [SpeechStarted, SpeechEnded, SpeechStarted, SpeechEnded]


def test_webrtc_vetoes_loud_sounds_that_are_not_voice() -> None:
    rate = 16000
    t = np.arange(rate) / rate
    whistle = float_to_int16(0.3 * np.sin(2 * np.pi * 7000 * t))  # loud, but nothing like a voice
    frames = Reframer(rate).push(whistle)
    gated = VoiceActivityDetector(VadConfig(aggressiveness=2))
    energy_only = VoiceActivityDetector(VadConfig(use_webrtc=False))
    later = frames[10:]  # after webrtcvad's first few frames of adaptation
    for frame in frames[:10]:
        gated.is_speech(frame)
    assert not any(gated.is_speech(frame) for frame in later)
    assert all(energy_only.is_speech(frame) for frame in later)


def test_energy_gate_vetoes_quiet_frames_webrtc_would_call_speech() -> None:
    rate = 16000
    whisper_quiet = speech_like(rate, 0.4, level=0.005)
    assert run(VoiceActivityDetector(VadConfig(energy_threshold=0.012)), whisper_quiet, rate) == []
    events = run(VoiceActivityDetector(VadConfig(energy_threshold=0.001)), whisper_quiet, rate)
    assert [type(e) for e, _ in events] == [SpeechStarted]


def test_24khz_is_refused_with_webrtc_and_accepted_energy_only() -> None:
    frame = AudioFrame(speech_like(24000, 0.02), 24000)
    with pytest.raises(ValueError, match="resample"):
        VoiceActivityDetector().process(frame)
    assert VoiceActivityDetector(VadConfig(use_webrtc=False)).is_speech(frame)


def test_webrtc_refuses_frames_of_other_lengths() -> None:
    frame = AudioFrame(speech_like(16000, 0.025), 16000)
    with pytest.raises(ValueError, match="10, 20 or 30 ms"):
        VoiceActivityDetector().process(frame)


def test_falls_back_to_energy_only_when_webrtcvad_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "webrtcvad", None)  # makes `import webrtcvad` raise ImportError
    detector = VoiceActivityDetector(VadConfig(use_webrtc=True))
    assert not detector.uses_webrtc
    rate = 24000  # fine without webrtcvad
    signal = np.concatenate([silence(rate, 0.2), speech_like(rate, 0.5), silence(rate, 0.5)])
    assert [type(e) for e, _ in run(detector, signal, rate)] == [SpeechStarted, SpeechEnded]


def test_time_is_virtual_and_reset_starts_over() -> None:
    rate = 8000
    detector = VoiceActivityDetector()
    run(detector, np.concatenate([silence(rate, 0.2), speech_like(rate, 0.5)]), rate)
    assert detector.speaking
    assert detector.time_s == pytest.approx(0.7)
    detector.reset()
    assert detector.state is VadState.QUIET
    assert detector.time_s == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"aggressiveness": 4},
        {"start_frames": 0},
        {"stop_frames": 0},
        {"energy_threshold": 1.5},
        {"min_speech_ms": -1},
    ],
)
def test_config_rejects_nonsense(bad: dict[str, int | float]) -> None:
    with pytest.raises(ValueError):
        VadConfig(**bad)  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_a_real_synthesised_utterance_is_one_speech_segment(tmp_path: Path) -> None:
    wav = tmp_path / "utterance.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(wav), "I would like to book a service for my car next Tuesday morning."],
        check=True,
        capture_output=True,
        timeout=30,
    )
    voice, rate = read_wav(wav)
    voice = resample(voice, rate, 16000)
    lead_in = silence(16000, 0.5)
    events = run(
        VoiceActivityDetector(VadConfig(stop_frames=25)), np.concatenate([lead_in, voice, lead_in]), 16000
    )
    assert [type(e) for e, _ in events] == [SpeechStarted, SpeechEnded]
    started, ended = events[0][0], events[1][0]
    assert isinstance(ended, SpeechEnded)
    assert 0.45 <= started.at_s <= 0.8
    assert ended.speech_duration_s > 2.0
