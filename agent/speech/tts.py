"""Text-to-speech interface: every engine synthesises int16 mono audio at its own rate, sentence by sentence."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.speech.text_normalise import split_sentences
from agent.speech.worker import InferenceWorker

Int16Array = npt.NDArray[np.int16]


class TTSError(RuntimeError):
    """An engine could not produce audio (missing model, crashed process, bad output)."""


class TextToSpeech(ABC):
    """One voice. `synthesize` returns a whole utterance; `stream` yields one array per sentence.

    Text should already be written for the ear (see text_normalise.normalise_for_speech); engines do not
    rewrite it. Implementations run inference off the event loop.
    """

    name: str
    sample_rate: int

    @abstractmethod
    async def synthesize(self, text: str) -> Int16Array:
        """All of `text` as int16 mono samples at `sample_rate` (empty for text with nothing to say)."""

    async def stream(self, text: str) -> AsyncIterator[Int16Array]:
        """One array per sentence, each as soon as it is ready, so playback starts after the first sentence."""
        for sentence in split_sentences(text):
            audio = await self.synthesize(sentence)
            if audio.size:
                yield audio

    async def load(self) -> None:
        """Load models now rather than on the first sentence (a no-op for engines without one)."""
        return None

    async def aclose(self) -> None:
        return None


class WorkerTTS(TextToSpeech):
    """An engine whose model loads and runs on a thread of its own (never on the event loop)."""

    def __init__(self, worker_name: str) -> None:
        self._worker = InferenceWorker(worker_name)

    @abstractmethod
    def _load_sync(self) -> Any:
        """Load the model once (called on the worker thread); later calls return it."""

    @abstractmethod
    def _synthesize_sync(self, text: str) -> Int16Array:
        """One sentence, on the worker thread."""

    def _unload(self) -> None:
        """Drop the model after the worker stopped."""

    async def load(self) -> None:
        await self._worker.run(self._load_sync)

    async def synthesize(self, text: str) -> Int16Array:
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        return await self._worker.run(self._synthesize_sync, text)

    async def aclose(self) -> None:
        await self._worker.aclose()
        self._unload()


def float_to_int16(audio: npt.ArrayLike) -> Int16Array:
    """Float samples in [-1, 1] (clipped) as int16 PCM."""
    array = np.asarray(audio, dtype=np.float32).reshape(-1)
    return np.asarray(np.round(np.clip(array, -1.0, 1.0) * 32767.0), dtype=np.int16)
