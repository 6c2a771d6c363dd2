"""Engines without their models: argument checks, cheap short-cuts that never touch a model, idempotent close."""

from __future__ import annotations

import numpy as np
import pytest

from agent.speech.stt import WhisperSTT
from agent.speech.tts_hibari import HibariTTS

pytestmark = pytest.mark.unit


async def test_silence_is_answered_without_loading_whisper() -> None:
    stt = WhisperSTT()
    transcript = await stt.transcribe(np.zeros(16000, dtype=np.int16))
    assert transcript.text == ""
    assert transcript.rejected == "silence"
    assert transcript.duration_s == pytest.approx(1.0)
    assert stt.load_s is None  # the model was never needed
    empty = await stt.transcribe(np.zeros(0, dtype=np.float32))
    assert empty.empty
    await stt.aclose()


async def test_whisper_close_is_idempotent_and_final() -> None:
    stt = WhisperSTT()
    await stt.aclose()
    await stt.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await stt.transcribe(np.full(16000, 0.2, dtype=np.float32))


def test_unknown_whisper_model_is_refused() -> None:
    with pytest.raises(ValueError, match="small"):
        WhisperSTT(model="small")  # type: ignore[arg-type]


async def test_empty_text_needs_no_voice() -> None:
    tts = HibariTTS()
    assert (await tts.synthesize("  ")).size == 0
    assert [chunk async for chunk in tts.stream("")] == []
    assert tts.load_s is None
    await tts.aclose()
    await tts.aclose()
