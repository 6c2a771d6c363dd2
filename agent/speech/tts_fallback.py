"""FallbackTTS: engines in order of preference; when one fails mid-utterance the next says the rest, at one rate."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

import numpy as np

from agent.audio.resample import resample
from agent.speech.text_normalise import split_sentences
from agent.speech.tts import Int16Array, TextToSpeech, TTSError

log = logging.getLogger(__name__)

OUTPUT_RATE = 24000


class FallbackTTS(TextToSpeech):
    """Tries each engine in order, sentence by sentence.

    When an engine raises or takes longer than `timeout_s` for a sentence, the next engine says that sentence
    and the rest; the failed engine is skipped for `cooldown_s` (so a broken model does not cost a timeout on
    every sentence), then tried again. If every engine is cooling down they are all tried anyway: a retry is
    better than silence. Every engine's audio is resampled to `output_rate`, so callers never see the rate
    change when the voice does.
    """

    name = "fallback"

    def __init__(
        self,
        engines: Sequence[TextToSpeech],
        *,
        output_rate: int = OUTPUT_RATE,
        timeout_s: float = 5.0,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not engines:
            raise ValueError("FallbackTTS needs at least one engine")
        self.engines = list(engines)
        self.sample_rate = output_rate
        self._timeout_s = timeout_s
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failed_at: dict[int, float] = {}
        self.last_engine: str | None = None  # the engine that produced the latest sentence
        self.failures: list[tuple[str, str]] = []  # (engine, error), for logs and tests

    def _candidates(self) -> list[int]:
        now = self._clock()
        healthy = [
            i
            for i in range(len(self.engines))
            if now - self._failed_at.get(i, float("-inf")) >= self._cooldown_s
        ]
        return healthy or list(range(len(self.engines)))

    async def _say(self, sentence: str) -> Int16Array:
        errors: list[str] = []
        for index in self._candidates():
            engine = self.engines[index]
            try:
                audio = await asyncio.wait_for(engine.synthesize(sentence), self._timeout_s)
            except Exception as exc:  # any engine failure, including TimeoutError, hands over to the next one
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self._failed_at[index] = self._clock()
                self.failures.append((engine.name, reason))
                errors.append(f"{engine.name}: {reason}")
                log.warning("tts engine failed, falling back", extra={"engine": engine.name, "error": reason})
                continue
            self._failed_at.pop(index, None)
            self.last_engine = engine.name
            if engine.sample_rate != self.sample_rate and audio.size:
                audio = await asyncio.to_thread(resample, audio, engine.sample_rate, self.sample_rate)
            return audio
        raise TTSError("every TTS engine failed: " + "; ".join(errors))

    async def synthesize(self, text: str) -> Int16Array:
        parts = [chunk async for chunk in self.stream(text)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    async def stream(self, text: str) -> AsyncIterator[Int16Array]:
        for sentence in split_sentences(text):
            audio = await self._say(sentence)
            if audio.size:
                yield audio

    async def load(self) -> None:
        for engine in self.engines:
            try:
                await engine.load()
            except Exception as exc:  # a missing optional engine must not stop the others from serving
                self._failed_at[self.engines.index(engine)] = self._clock()
                log.warning("tts engine failed to load", extra={"engine": engine.name, "error": str(exc)})

    async def aclose(self) -> None:
        for engine in self.engines:
            await engine.aclose()
