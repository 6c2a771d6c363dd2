"""Interim caller text steps aside for the shared STT worker: never queued behind other calls, withdrawn when stale."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from agent.calls.interim import InterimTranscripts
from agent.speech.stt import SpeechToText, Transcript

pytestmark = pytest.mark.unit
RATE = 16000


class Events:
    """What the interim decoder published (the listener turns each into an InterimText event)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def publish(self, text: str) -> None:
        self.events.append(text)


class GatedSTT(SpeechToText):
    """Answers "so far so good" once `release` is set; `busy` says whether other calls hold the worker."""

    name = "gated"

    def __init__(self, *, busy: bool = False) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.cancelled = 0
        self._busy = busy

    @property
    def busy(self) -> bool:
        return self._busy

    async def transcribe(self, samples16k: Any, *, hint: str | None = None) -> Transcript:
        self.started += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return Transcript("so far so good", 0.0, -0.1, samples16k.size / RATE, "en")


def speech(seconds: float) -> list[np.ndarray]:
    return [np.full(int(seconds * RATE), 1000, np.int16)]


async def test_partial_text_is_published_while_the_worker_is_free() -> None:
    stt, events = GatedSTT(), Events()
    interim = InterimTranscripts(stt, events.publish, every_s=1.0, hint=None)
    interim.update(now_s=1.2, speech_started_s=0.0, audio=speech(1.2))
    stt.release.set()
    await asyncio.sleep(0.01)
    assert events.events == ["so far so good"]
    await interim.aclose()


async def test_no_partial_decode_starts_while_other_calls_hold_the_worker() -> None:
    stt, events = GatedSTT(busy=True), Events()
    interim = InterimTranscripts(stt, events.publish, every_s=1.0, hint=None)
    interim.update(now_s=1.2, speech_started_s=0.0, audio=speech(1.2))
    interim.update(now_s=2.4, speech_started_s=0.0, audio=speech(2.4))
    await asyncio.sleep(0.01)
    assert stt.started == 0 and interim.skipped_busy == 2
    assert events.events == []
    await interim.aclose()


async def test_a_partial_decode_still_waiting_when_the_caller_stops_is_withdrawn() -> None:
    stt, events = GatedSTT(), Events()
    interim = InterimTranscripts(stt, events.publish, every_s=1.0, hint=None)
    interim.update(now_s=1.2, speech_started_s=0.0, audio=speech(1.2))
    await asyncio.sleep(0.01)
    assert stt.started == 1
    interim.utterance_over()  # the caller stopped: the final transcript is what matters now
    await asyncio.sleep(0.01)
    stt.release.set()
    await asyncio.sleep(0.01)
    assert stt.cancelled == 1
    assert events.events == []
    await interim.aclose()
