"""Interim transcripts: what the caller has said so far, published while they are still speaking."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import numpy as np

from agent.log import get_logger
from agent.speech.stt import SpeechToText

log = get_logger(__name__)
STT_RATE = 16000
MIN_AUDIO_S = 0.6  # less than this is rarely a word yet


class InterimTranscripts:
    """At most one partial decode at a time, every `every_s` of speech; a result that lands after the caller
    stopped (the final transcript is on its way) or after a new utterance began is dropped, never shown.

    Partial text is a console nicety and the STT worker is shared by every call: no partial decode starts
    while the worker has other work, and one still waiting for the worker when the caller stops is
    withdrawn, so a final transcript (this call's or another's) never queues behind it."""

    def __init__(
        self,
        stt: SpeechToText,
        publish: Callable[[str], Awaitable[None]],
        *,
        every_s: float,
        hint: str | None,
        working: Callable[[], contextlib.AbstractAsyncContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self._stt = stt
        self._working = working  # the call's CPU-work marker: a virtual-clock replay pauses during the decode
        self._publish = publish
        self._every_s = every_s
        self._hint = hint
        self._task: asyncio.Task[None] | None = None
        self._last_s = 0.0
        self._utterance = 0  # bumped when an utterance ends: results of older ones are stale
        self.published = 0
        self.skipped_busy = 0

    def update(self, now_s: float, speech_started_s: float, audio: list[np.ndarray]) -> None:
        """Called on every frame while the caller speaks; starts a partial decode when one is due."""
        if self._task is not None and not self._task.done():
            return
        if now_s - max(speech_started_s, self._last_s) < self._every_s:
            return
        if self._stt.busy:
            self.skipped_busy += 1
            return
        samples = np.concatenate(audio) if audio else np.zeros(0, np.int16)
        if samples.size < MIN_AUDIO_S * STT_RATE:
            return
        self._last_s = now_s
        self._task = asyncio.create_task(self._decode(samples, self._utterance), name="interim-stt")

    def utterance_over(self) -> None:
        """The caller stopped (or barged in anew): whatever partial decode is in flight is now stale."""
        self._utterance += 1
        self._last_s = 0.0
        if self._task is not None and not self._task.done():
            # Not yet started on the worker: cancelling withdraws it. Already running: it finishes there
            # and its result is dropped as stale.
            self._task.cancel()

    async def _decode(self, samples: np.ndarray, utterance: int) -> None:
        try:
            async with self._working():
                transcript = await self._stt.transcribe(samples, hint=self._hint)
        except Exception:  # best effort: a console nicety must never disturb the call
            log.warning("interim_transcript_failed", exc_info=True)
            return
        if utterance != self._utterance or not transcript.text:
            return
        self.published += 1
        await self._publish(transcript.text)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
