"""Speech-to-text: the SpeechToText interface and WhisperSTT (faster-whisper, offline, one shared worker thread)."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from agent.speech.model_files import assemble_whisper_base, whisper_tiny_en_dir
from agent.speech.stt_guard import Evidence, GuardSettings, rejection_reason, rms_dbfs
from agent.speech.whisper_window import decode_fitted
from agent.speech.worker import InferenceWorker

if TYPE_CHECKING:
    from faster_whisper import WhisperModel  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WhisperName = Literal["tiny.en", "base", "base.en"]


@dataclass(frozen=True)
class Transcript:
    """What was heard. Empty text means "nothing worth answering"; `rejected` says why the guard dropped words."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    duration_s: float
    language: str
    rejected: str | None = None
    raw_text: str = ""  # the decode before the guard, for logs and tuning
    inference_s: float = 0.0
    second_opinion: bool = False  # a second model decoded it too (agent/calls/second_opinion.py)

    @property
    def empty(self) -> bool:
        return not self.text


class SpeechToText(ABC):
    """Turns one utterance (16 kHz mono) into text. Implementations never block the event loop."""

    name: str

    @abstractmethod
    async def transcribe(
        self, samples16k: npt.NDArray[np.int16] | npt.NDArray[np.float32], *, hint: str | None = None
    ) -> Transcript:
        """Transcribe a whole utterance; `hint` is optional context (names, what was just asked)."""

    async def load(self) -> None:
        """Load the model now rather than on the first call (a no-op for engines without one)."""
        return None

    @property
    def busy(self) -> bool:
        """True while other work waits for or runs on this engine (optional work can then step aside)."""
        return False

    @property
    def idle(self) -> bool:
        """True when nothing at all runs or waits on this engine: work that may be wasted costs no one time.
        An engine that cannot tell says False."""
        return False

    async def aclose(self) -> None:
        return None


def as_float32(samples: npt.NDArray[np.int16] | npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """16-bit PCM or float audio as float32 in [-1, 1]."""
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"expected mono 1-D samples, got shape {array.shape}")
    if array.dtype == np.int16:
        return (array.astype(np.float32) / 32768.0).astype(np.float32)
    if array.dtype in (np.float32, np.float64):
        return np.asarray(array, dtype=np.float32)
    raise TypeError(f"expected int16 or float32 samples, got {array.dtype}")


class WhisperSTT(SpeechToText):
    """faster-whisper on CPU (int8), loaded once and shared by all calls through one worker thread.

    Settings that held up on phone audio: greedy decoding (beam 1), English only, no conditioning on previous
    text (it repeats itself after a misheard turn), no timestamps, temperature 0. Whisper's own VAD filter is
    off by default because the pipeline's VAD already cut the utterance; turn it on for ungated audio.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        model: WhisperName = "tiny.en",
        threads: int = 1,
        beam_size: int = 1,
        *,
        workers: int = 2,
        vad_filter: bool = False,
        window_margin_s: float | None = 7.0,
        guard: GuardSettings | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        if model not in ("tiny.en", "base", "base.en"):
            raise ValueError(f"unknown Whisper model {model!r}; expected 'tiny.en' or 'base.en'")
        self.name = f"whisper-{model}"
        self.model_name = model
        self._model_dir = model_dir
        self._cache_dir = cache_dir
        self._threads = threads
        self._beam_size = beam_size
        self._vad_filter = vad_filter
        # Encoder window = utterance + this margin (agent/speech/whisper_window.py); None: Whisper's fixed 30 s.
        self._window_margin_s = window_margin_s if not vad_filter else None
        self._guard = guard or GuardSettings()
        # Calls share the model: `workers` decodes at once, each on `threads` threads (tiny.en decodes as fast on
        # one thread as on two, so two at once, one per core, nearly double what a 2-core machine answers).
        self._workers = workers
        self._worker = InferenceWorker("whisper", threads=workers)
        self._model: WhisperModel | None = None
        self.load_s: float | None = None

    def _resolve_model_dir(self) -> Path:
        if self._model_dir is not None:
            return self._model_dir
        if self.model_name == "tiny.en":
            return whisper_tiny_en_dir()
        # The base model on PyPI is the multilingual one, split in two packages; join it once into the cache.
        return assemble_whisper_base(self._cache_dir)

    def _load_sync(self) -> WhisperModel:
        if self._model is None:
            from faster_whisper import WhisperModel

            started = time.perf_counter()
            path = self._resolve_model_dir()
            self._model = WhisperModel(
                str(path),
                device="cpu",
                compute_type="int8",
                cpu_threads=self._threads,
                num_workers=self._workers,
                local_files_only=True,
            )
            self.load_s = time.perf_counter() - started
            log.info(
                "whisper model loaded",
                extra={"model": self.model_name, "path": str(path), "load_s": self.load_s},
            )
        return self._model

    async def load(self) -> None:
        await self._worker.run(self._load_sync)

    @property
    def busy(self) -> bool:
        return self._worker.saturated

    @property
    def idle(self) -> bool:
        return self._worker.idle and not self._worker.closed

    async def transcribe(
        self, samples16k: npt.NDArray[np.int16] | npt.NDArray[np.float32], *, hint: str | None = None
    ) -> Transcript:
        audio = as_float32(samples16k)
        duration = audio.size / SAMPLE_RATE
        level = rms_dbfs(audio)
        if level < self._guard.silence_dbfs:
            # Not worth 0.35 s of a shared worker: nothing a caller said is this quiet.
            return Transcript("", 1.0, 0.0, duration, "en", rejected="silence")
        return await self._worker.run(self._transcribe_sync, audio, hint, level)

    def _transcribe_sync(self, audio: npt.NDArray[np.float32], hint: str | None, level: float) -> Transcript:
        model = self._load_sync()
        started = time.perf_counter()
        fitted = None
        if self._window_margin_s is not None:
            fitted = decode_fitted(
                model, audio, margin_s=self._window_margin_s, beam_size=self._beam_size, hint=hint
            )
        if fitted is not None:
            raw, no_speech, avg_logprob = fitted.text, fitted.no_speech_prob, fitted.avg_logprob
        else:
            raw, no_speech, avg_logprob = self._decode_full_window(model, audio, hint)
        reason = rejection_reason(Evidence(raw, no_speech, avg_logprob, level), self._guard)
        if reason is not None and raw:
            log.info("stt text dropped", extra={"reason": reason, "raw": raw, "level_dbfs": round(level, 1)})
        return Transcript(
            text="" if reason else raw,
            no_speech_prob=no_speech,
            avg_logprob=avg_logprob,
            duration_s=audio.size / SAMPLE_RATE,
            language="en",
            rejected=reason,
            raw_text=raw,
            inference_s=time.perf_counter() - started,
        )

    def _decode_full_window(
        self, model: WhisperModel, audio: npt.NDArray[np.float32], hint: str | None
    ) -> tuple[str, float, float]:
        """faster-whisper's own path: 30 s windows (long utterances, or Whisper's VAD filter on)."""
        options: dict[str, Any] = {
            "beam_size": self._beam_size,
            "language": "en",
            "condition_on_previous_text": False,
            "without_timestamps": True,
            "temperature": 0.0,
            "vad_filter": self._vad_filter,
            "no_speech_threshold": self._guard.no_speech_threshold,
            "log_prob_threshold": self._guard.logprob_threshold,
            "initial_prompt": hint,
        }
        segments, _info = model.transcribe(audio, **options)
        texts: list[str] = []
        no_speech = 0.0
        logprob_sum = 0.0
        weight_sum = 0
        for segment in segments:  # a generator: decoding happens while iterating
            texts.append(segment.text)
            no_speech = max(no_speech, float(segment.no_speech_prob))
            weight = max(1, len(segment.tokens))
            logprob_sum += float(segment.avg_logprob) * weight
            weight_sum += weight
        raw = " ".join(t.strip() for t in texts if t.strip())
        avg_logprob = logprob_sum / weight_sum if weight_sum else 0.0
        if not texts:
            # faster-whisper itself skipped every window as no speech.
            no_speech = max(no_speech, self._guard.no_speech_threshold)
        return raw, no_speech, avg_logprob

    async def aclose(self) -> None:
        await self._worker.aclose()
        self._model = None
