"""HibariTTS: the default voice, Kokoro's af_heart distilled to 7.9 MB (hibari-tts), 24 kHz, fully offline."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from agent.speech.tts import Int16Array, TTSError, WorkerTTS, float_to_int16

SAMPLE_RATE = 24000


class HibariTTS(WorkerTTS):
    """hibari's bundled "heart" voice on one onnxruntime thread, in its own worker thread.

    Never pass hibari a `voice=`: every voice but the bundled default is downloaded from a hub on first use.
    """

    name = "hibari"
    sample_rate = SAMPLE_RATE

    def __init__(self, threads: int = 1, *, speed: float = 1.0) -> None:
        self._threads = threads
        self._speed = speed
        super().__init__("hibari")
        self._model: Any = None
        self.load_s: float | None = None

    def _load_sync(self) -> Any:
        if self._model is None:
            started = time.perf_counter()
            try:
                from hibari import Hibari  # type: ignore[import-untyped]
            except ModuleNotFoundError as exc:
                raise TTSError("hibari-tts is not installed; pip install 'hibari-tts[fast]==0.2.1'") from exc
            model = Hibari(threads=self._threads)
            model(
                "Hello."
            )  # builds the lexicons and warms the graph now, not during the first sentence of a call
            if model.sample_rate != SAMPLE_RATE:
                raise TTSError(f"hibari produces {model.sample_rate} Hz, expected {SAMPLE_RATE}")
            self._model = model
            self.load_s = time.perf_counter() - started
        return self._model

    def _synthesize_sync(self, text: str) -> Int16Array:
        model = self._load_sync()
        audio = np.asarray(model(text, speed=self._speed), dtype=np.float32)
        return float_to_int16(audio)

    def _unload(self) -> None:
        self._model = None
