"""Real models end to end: hibari speaks, Whisper hears it back (clean and through 8 kHz mu-law), and says nothing
for silence and noise."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from agent.audio.g711 import mulaw_decode, mulaw_encode
from agent.audio.resample import resample
from agent.speech.stt import Transcript, WhisperSTT
from agent.speech.tts import Int16Array, TextToSpeech
from agent.speech.tts_espeak import EspeakTTS
from agent.speech.tts_fallback import FallbackTTS
from agent.speech.tts_hibari import HibariTTS

pytestmark = pytest.mark.integration

GREETING = "Thanks for calling Riverside Motors. How can I help you today?"
BOOKING = "I would like to book an oil change for next Tuesday morning."


@pytest.fixture(scope="module")
def hibari(offline: None) -> Iterator[HibariTTS]:
    engine = HibariTTS(threads=1)
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture(scope="module")
def whisper(offline: None) -> Iterator[WhisperSTT]:
    engine = WhisperSTT(model="tiny.en", threads=2)
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture(scope="module")
def greeting(hibari: HibariTTS) -> Int16Array:
    return asyncio.run(hibari.synthesize(GREETING))


def words(transcript: Transcript) -> str:
    return re.sub(r"[^a-z' ]+", " ", transcript.text.lower())


async def test_hibari_says_the_greeting_at_24k(greeting: Int16Array, hibari: HibariTTS) -> None:
    assert hibari.sample_rate == 24000
    assert greeting.dtype == np.int16
    assert 2.0 <= len(greeting) / 24000 <= 6.0
    assert np.sqrt(np.mean(greeting.astype(np.float64) ** 2)) > 500  # speech, not near-silence


async def test_hibari_streams_one_array_per_sentence(hibari: HibariTTS) -> None:
    chunks = [
        c async for c in hibari.stream("Your car is ready for pickup. The invoice is at the front desk.")
    ]
    assert len(chunks) == 2
    assert all(c.dtype == np.int16 and len(c) > 24000 * 0.5 for c in chunks)


async def test_whisper_hears_the_greeting(greeting: Int16Array, whisper: WhisperSTT) -> None:
    transcript = await whisper.transcribe(resample(greeting, 24000, 16000))
    heard = words(transcript)
    assert "riverside" in heard
    assert "help" in heard
    assert transcript.language == "en"
    assert transcript.duration_s == pytest.approx(len(greeting) / 24000, abs=0.01)
    assert transcript.rejected is None


async def test_a_hint_is_accepted_and_does_not_change_clear_speech(
    greeting: Int16Array, whisper: WhisperSTT
) -> None:
    transcript = await whisper.transcribe(
        resample(greeting, 24000, 16000), hint="Riverside Motors, a car dealership."
    )
    assert "riverside motors" in words(transcript)


async def test_whisper_hears_the_greeting_through_an_8k_mulaw_phone_line(
    greeting: Int16Array, whisper: WhisperSTT
) -> None:
    phone = mulaw_decode(mulaw_encode(resample(greeting, 24000, 8000)))
    transcript = await whisper.transcribe(resample(phone, 8000, 16000))
    assert "help" in words(transcript)


def _noise(kind: str) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(7)
    t = np.arange(16000 * 2) / 16000
    signals = {
        "digital silence": np.zeros(t.size),
        "line hiss": rng.normal(0, 0.003, t.size),
        "white noise": rng.normal(0, 0.05, t.size),
        "loud white noise": rng.normal(0, 0.3, t.size),
        "pulsing noise": rng.normal(0, 0.05, t.size) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)),
        "440 Hz tone": 0.1 * np.sin(2 * np.pi * 440 * t),
    }
    return signals[kind].astype(np.float32)


@pytest.mark.parametrize(
    "kind",
    ["digital silence", "line hiss", "white noise", "loud white noise", "pulsing noise", "440 Hz tone"],
)
async def test_silence_and_noise_give_no_text(kind: str, whisper: WhisperSTT) -> None:
    transcript = await whisper.transcribe(_noise(kind))
    assert transcript.text == "", f"invented {transcript.raw_text!r}"
    assert transcript.empty


async def test_pcm16_silence_gives_no_text(whisper: WhisperSTT) -> None:
    assert (await whisper.transcribe(np.zeros(16000, dtype=np.int16))).text == ""


async def test_two_sessions_transcribing_at_once_both_get_their_words(
    hibari: HibariTTS, whisper: WhisperSTT, greeting: Int16Array
) -> None:
    booking = await hibari.synthesize(BOOKING)
    first, second = await asyncio.gather(
        whisper.transcribe(resample(greeting, 24000, 16000)),
        whisper.transcribe(resample(booking, 24000, 16000)),
    )
    assert "riverside" in words(first)
    assert "oil change" in words(second)
    assert "tuesday" in words(second)


class BreaksAfterFirstSentence(TextToSpeech):
    """The real hibari voice that crashes from the second sentence on, as a corrupt model would."""

    def __init__(self, inner: HibariTTS) -> None:
        self.inner = inner
        self.name = "hibari-breaking"
        self.sample_rate = inner.sample_rate
        self.calls = 0

    async def synthesize(self, text: str) -> Int16Array:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("onnxruntime: invalid graph")
        return await self.inner.synthesize(text)


@pytest.mark.skipif(
    not EspeakTTS.available(), reason="espeak-ng is not installed (apt-get install espeak-ng)"
)
async def test_espeak_takes_over_mid_utterance_at_the_same_rate(
    hibari: HibariTTS, whisper: WhisperSTT
) -> None:
    tts = FallbackTTS([BreaksAfterFirstSentence(hibari), EspeakTTS()], output_rate=24000)
    text = "Thanks for calling Riverside Motors. Our service department opens at nine in the morning."
    chunks = [c async for c in tts.stream(text)]
    assert len(chunks) == 2
    assert tts.last_engine == "espeak"
    assert [engine for engine, _ in tts.failures] == ["hibari-breaking"]
    # The espeak sentence was converted from 22.05 kHz: read as 24 kHz audio it is still intelligible.
    heard = words(await whisper.transcribe(resample(chunks[1], 24000, 16000)))
    assert "service" in heard or "department" in heard
    await tts.aclose()
