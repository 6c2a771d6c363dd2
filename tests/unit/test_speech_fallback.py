"""FallbackTTS: a failing or stalled engine hands the rest of the utterance to the next, at one output rate."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agent.speech.tts import Int16Array, TextToSpeech, TTSError
from agent.speech.tts_fallback import FallbackTTS

pytestmark = pytest.mark.unit

THREE_SENTENCES = "Your car is ready for pickup. The invoice is at the desk. We close at six tonight."


class ToneTTS(TextToSpeech):
    """A fake engine: 100 ms of a tone per sentence, optionally failing from the n-th sentence on."""

    def __init__(self, name: str, rate: int, *, fail_from: int | None = None, stall: bool = False) -> None:
        self.name = name
        self.sample_rate = rate
        self.fail_from = fail_from
        self.stall = stall
        self.said: list[str] = []
        self.closed = False

    async def synthesize(self, text: str) -> Int16Array:
        if self.fail_from is not None and len(self.said) >= self.fail_from:
            if self.stall:
                await asyncio.sleep(3600)
            raise RuntimeError("model crashed")
        self.said.append(text)
        t = np.arange(self.sample_rate // 10) / self.sample_rate
        return (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)

    async def aclose(self) -> None:
        self.closed = True


async def test_engine_failing_mid_utterance_hands_the_rest_to_the_next() -> None:
    first = ToneTTS("first", 24000, fail_from=1)
    second = ToneTTS("second", 24000)
    tts = FallbackTTS([first, second])
    chunks = [chunk async for chunk in tts.stream(THREE_SENTENCES)]
    assert len(chunks) == 3
    assert first.said == ["Your car is ready for pickup."]
    assert second.said == ["The invoice is at the desk.", "We close at six tonight."]
    assert tts.last_engine == "second"
    assert tts.failures == [("first", "RuntimeError: model crashed")]


async def test_every_engine_is_resampled_to_the_output_rate() -> None:
    first = ToneTTS("first", 24000, fail_from=1)
    second = ToneTTS("espeak-like", 22050)
    tts = FallbackTTS([first, second], output_rate=24000)
    chunks = [chunk async for chunk in tts.stream(THREE_SENTENCES)]
    assert tts.sample_rate == 24000
    # 100 ms each, whichever engine spoke: the 22.05 kHz audio was converted, not passed through.
    assert [len(c) for c in chunks] == pytest.approx([2400, 2400, 2400], abs=2)
    assert all(c.dtype == np.int16 for c in chunks)


async def test_a_stalled_engine_times_out_and_the_next_takes_over() -> None:
    stalled = ToneTTS("stalled", 24000, fail_from=0, stall=True)
    backup = ToneTTS("backup", 24000)
    tts = FallbackTTS([stalled, backup], timeout_s=0.05)
    audio = await tts.synthesize("Hello there, thanks for calling.")
    assert len(audio) == 2400
    assert tts.failures[0][0] == "stalled"
    assert tts.failures[0][1].startswith("TimeoutError")


async def test_a_failed_engine_is_skipped_during_its_cooldown_then_retried() -> None:
    now = [0.0]
    flaky = ToneTTS("flaky", 24000, fail_from=0)
    backup = ToneTTS("backup", 24000)
    tts = FallbackTTS([flaky, backup], cooldown_s=30.0, clock=lambda: now[0])
    await tts.synthesize("First call of the day.")
    await tts.synthesize("Second call, same minute.")
    assert len(tts.failures) == 1  # not tried again while cooling down
    flaky.fail_from = None
    now[0] = 31.0
    await tts.synthesize("Third call, later on.")
    assert flaky.said == ["Third call, later on."]
    assert tts.last_engine == "flaky"


async def test_when_every_engine_fails_the_caller_gets_a_tts_error() -> None:
    tts = FallbackTTS([ToneTTS("a", 24000, fail_from=0), ToneTTS("b", 16000, fail_from=0)])
    with pytest.raises(TTSError, match="every TTS engine failed"):
        await tts.synthesize("Is anyone there?")


async def test_empty_text_says_nothing_and_close_reaches_every_engine() -> None:
    engines = [ToneTTS("a", 24000), ToneTTS("b", 24000)]
    tts = FallbackTTS(engines)
    assert (await tts.synthesize("   ")).size == 0
    await tts.aclose()
    assert all(engine.closed for engine in engines)


def test_needs_an_engine() -> None:
    with pytest.raises(ValueError):
        FallbackTTS([])
