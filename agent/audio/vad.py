"""Voice activity detection: webrtcvad gated by frame energy, driven through a four-state machine with hysteresis."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from agent.audio.frames import AudioFrame
from agent.audio.level import rms

# webrtcvad only takes these rates, and frames of exactly 10, 20 or 30 ms.
WEBRTC_RATES = (8000, 16000, 32000, 48000)
WEBRTC_FRAME_MS = (10, 20, 30)


class VadState(StrEnum):
    QUIET = "quiet"
    STARTING = "starting"
    SPEAKING = "speaking"
    STOPPING = "stopping"


@dataclass(frozen=True)
class VadConfig:
    """Detector thresholds (the values themselves come from the settings)."""

    aggressiveness: int = 2  # webrtcvad mode, 0 (lenient) .. 3 (strict)
    start_frames: int = 3  # consecutive speech frames to leave QUIET for good
    stop_frames: int = 15  # consecutive non-speech frames that end speech (15 x 20 ms = 300 ms)
    energy_threshold: float = 0.012  # frame RMS, 0..1 of full scale; quieter frames are never speech
    min_speech_ms: int = 100  # speech shorter than this (clicks, knocks) raises no event
    use_webrtc: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.aggressiveness <= 3:
            raise ValueError(f"aggressiveness must be 0..3, got {self.aggressiveness}")
        if self.start_frames < 1 or self.stop_frames < 1:
            raise ValueError("start_frames and stop_frames must be at least 1")
        if not 0.0 <= self.energy_threshold < 1.0:
            raise ValueError(f"energy_threshold must be in 0..1, got {self.energy_threshold}")
        if self.min_speech_ms < 0:
            raise ValueError(f"min_speech_ms must not be negative, got {self.min_speech_ms}")


@dataclass(frozen=True)
class SpeechStarted:
    """Speech confirmed. `at_s` is the onset (first speech frame), `detected_at_s` when it was confirmed."""

    at_s: float
    detected_at_s: float
    kind: Literal["speech_started"] = "speech_started"


@dataclass(frozen=True)
class SpeechEnded:
    """Speech over. `at_s` is where the trailing silence began, `detected_at_s` when it was long enough."""

    at_s: float
    speech_duration_s: float
    detected_at_s: float
    kind: Literal["speech_ended"] = "speech_ended"


VadEvent = SpeechStarted | SpeechEnded


def _load_webrtc(aggressiveness: int) -> Any | None:
    try:
        import webrtcvad  # type: ignore[import-untyped]
    except ImportError:
        return None
    return webrtcvad.Vad(aggressiveness)


class VoiceActivityDetector:
    """Feed it consecutive frames of one stream; it reports where speech starts and ends.

    Time is virtual: it advances by each frame's duration, so replaying a file gives the same events
    as a live call. A frame counts as speech only if it is loud enough AND webrtcvad hears a voice in
    it: webrtcvad alone fires on hum and steady noise, energy alone on any loud noise. Without webrtcvad
    (not installed, or use_webrtc=False) the energy gate decides alone.
    """

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        self._webrtc = _load_webrtc(self.config.aggressiveness) if self.config.use_webrtc else None
        self._min_speech_s = self.config.min_speech_ms / 1000.0
        self.reset()

    def reset(self) -> None:
        """Back to QUIET at time zero (a new stream)."""
        self._state = VadState.QUIET
        self._time_s = 0.0
        self._onset_s = 0.0
        self._silence_start_s = 0.0
        self._voiced_s = 0.0  # speech accumulated while STARTING
        self._speech_run = 0
        self._silence_run = 0

    @property
    def uses_webrtc(self) -> bool:
        return self._webrtc is not None

    @property
    def state(self) -> VadState:
        return self._state

    @property
    def speaking(self) -> bool:
        """True from the start event until the end event (including the STOPPING grace period)."""
        return self._state in (VadState.SPEAKING, VadState.STOPPING)

    @property
    def time_s(self) -> float:
        """Virtual time: total duration of the frames processed since the last reset."""
        return self._time_s

    def is_speech(self, frame: AudioFrame) -> bool:
        """Per-frame decision: loud enough for the energy gate and voiced for webrtcvad.

        webrtcvad adapts its noise model frame by frame, so it sees every frame, quiet ones included;
        skipping them would make its answers depend on the energy threshold.
        """
        loud = rms(frame.samples) >= self.config.energy_threshold
        if self._webrtc is None:
            return loud
        self._check_webrtc_frame(frame)
        voiced = bool(self._webrtc.is_speech(frame.to_bytes(), frame.sample_rate))
        return loud and voiced

    def process(self, frame: AudioFrame) -> VadEvent | None:
        """Advance by one frame; return an event when speech is confirmed to start or to have ended."""
        frame_start = self._time_s
        voiced = self.is_speech(frame)
        self._time_s = frame_start + frame.duration_s
        if voiced:
            self._speech_run += 1
            self._silence_run = 0
        else:
            self._silence_run += 1
            self._speech_run = 0
        return self._step(voiced, frame_start, frame.duration_s)

    def _step(self, voiced: bool, frame_start: float, frame_s: float) -> VadEvent | None:
        config = self.config
        if self._state is VadState.QUIET:
            if voiced:
                self._state = VadState.STARTING
                self._onset_s = frame_start
                self._voiced_s = 0.0
            else:
                return None
        if self._state is VadState.STARTING:
            if voiced:
                self._voiced_s += frame_s
                enough = self._voiced_s + 1e-9 >= self._min_speech_s
                if self._speech_run >= config.start_frames and enough:
                    self._state = VadState.SPEAKING
                    return SpeechStarted(at_s=self._onset_s, detected_at_s=self._time_s)
            elif self._silence_run >= config.start_frames:
                # too little speech before a pause as long as the confirmation window: a click or a blip
                self._state = VadState.QUIET
            return None
        if self._state is VadState.SPEAKING:
            if not voiced:
                self._state = VadState.STOPPING
                self._silence_start_s = frame_start
            else:
                return None
        # STOPPING
        if voiced:
            self._state = VadState.SPEAKING
            return None
        if self._silence_run >= config.stop_frames:
            self._state = VadState.QUIET
            return SpeechEnded(
                at_s=self._silence_start_s,
                speech_duration_s=self._silence_start_s - self._onset_s,
                detected_at_s=self._time_s,
            )
        return None

    def _check_webrtc_frame(self, frame: AudioFrame) -> None:
        if frame.sample_rate not in WEBRTC_RATES:
            raise ValueError(
                f"webrtcvad takes {WEBRTC_RATES} Hz, got {frame.sample_rate} Hz: resample to 16 kHz first "
                "(StreamResampler) or use VadConfig(use_webrtc=False)"
            )
        ms = frame.num_samples * 1000 / frame.sample_rate
        if not any(math.isclose(ms, allowed) for allowed in WEBRTC_FRAME_MS):
            raise ValueError(f"webrtcvad takes 10, 20 or 30 ms frames, got {ms:g} ms (use a Reframer)")
