"""Speech figures on this machine, printed for the README (no timing asserts): latency, load time, memory."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from agent.audio.resample import resample
from agent.speech.stt import WhisperSTT
from agent.speech.tts import TextToSpeech
from agent.speech.tts_espeak import EspeakTTS
from agent.speech.tts_hibari import HibariTTS
from agent.speech.tts_piper import PiperTTS, piper_available

pytestmark = pytest.mark.integration

UTTERANCE = "Hi, I'd like to book an oil change for my Civic next Tuesday."
TWELVE_WORDS = "Your service appointment is booked for Tuesday at ten in the morning."
PARAGRAPH = (
    "Thanks for calling Riverside Motors. Our service department is open Monday to Friday from eight to six. "
    "I can book an oil change, a tire rotation or a brake inspection for you. "
    "Loaner cars are available for repairs that take more than a day."
)


def rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def first_audio_s(engine: TextToSpeech, text: str) -> tuple[float, float]:
    """(seconds to the first sentence's audio, seconds of that audio)."""
    started = time.perf_counter()
    async for chunk in engine.stream(text):
        return time.perf_counter() - started, len(chunk) / engine.sample_rate
    raise AssertionError(f"{engine.name} produced no audio")


async def test_print_speech_figures(capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    rss_start = rss_mb()

    hibari = HibariTTS(threads=1)
    await hibari.load()
    whisper = WhisperSTT(model="tiny.en", threads=2)
    await whisper.load()
    rss_loaded = rss_mb()
    lines.append(f"load: hibari {hibari.load_s:.2f} s, whisper tiny.en {whisper.load_s:.2f} s")
    lines.append(f"RSS: {rss_start:.0f} MB before, {rss_loaded:.0f} MB with hibari + whisper tiny.en loaded")

    ttfa = [(await first_audio_s(hibari, TWELVE_WORDS))[0] for _ in range(5)]
    started = time.perf_counter()
    paragraph = await hibari.synthesize(PARAGRAPH)
    synth_s = time.perf_counter() - started
    audio_s = len(paragraph) / hibari.sample_rate
    lines.append(
        f"hibari: first audio for a 12-word sentence {statistics.median(ttfa) * 1000:.0f} ms (median of 5); "
        f"{audio_s:.1f} s of speech in {synth_s:.2f} s = {audio_s / synth_s:.0f}x real time"
    )

    speech = resample(await hibari.synthesize(UTTERANCE), 24000, 16000)
    assert 2.0 <= len(speech) / 16000 <= 5.0
    latencies = []
    for _ in range(5):
        started = time.perf_counter()
        transcript = await whisper.transcribe(speech)
        latencies.append(time.perf_counter() - started)
    assert "oil change" in transcript.text.lower()
    lines.append(
        f"whisper tiny.en: {statistics.median(latencies) * 1000:.0f} ms for a {len(speech) / 16000:.1f} s utterance "
        f"(median of 5, min {min(latencies) * 1000:.0f} ms)"
    )
    started = time.perf_counter()
    pair = await asyncio.gather(whisper.transcribe(speech), whisper.transcribe(speech))
    lines.append(
        f"whisper tiny.en: two calls at once, both done in {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    assert all(t.text for t in pair)

    if EspeakTTS.available():
        espeak = EspeakTTS()
        espeak_ttfa = [(await first_audio_s(espeak, TWELVE_WORDS))[0] for _ in range(5)]
        lines.append(f"espeak-ng: first audio {statistics.median(espeak_ttfa) * 1000:.0f} ms")
    if piper_available():
        piper = PiperTTS()
        await piper.load()
        piper_ttfa = [(await first_audio_s(piper, TWELVE_WORDS))[0] for _ in range(3)]
        lines.append(
            f"piper joe-medium: load {piper.load_s:.2f} s, first audio {statistics.median(piper_ttfa) * 1000:.0f} ms"
        )
        await piper.aclose()

    await whisper.aclose()
    await hibari.aclose()
    with capsys.disabled():
        print("\n-- speech figures (this machine) --")
        for line in lines:
            print("  " + line)
    assert np.isfinite(ttfa).all()
