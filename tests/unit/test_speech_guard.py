"""The hallucination guard: what Whisper invents on silence and noise is dropped, real short answers are kept."""

from __future__ import annotations

import numpy as np
import pytest

from agent.speech.stt import as_float32
from agent.speech.stt_guard import Evidence, GuardSettings, canonical, rejection_reason, rms_dbfs

pytestmark = pytest.mark.unit

SETTINGS = GuardSettings()


# Evidence recorded from faster-whisper tiny.en with its own no-speech filter turned off.
@pytest.mark.parametrize(
    ("text", "no_speech", "logprob", "level", "reason"),
    [
        (".", 0.95, -1.19, -120.0, "silence"),
        ("you", 0.96, -1.33, -26.0, "no_speech"),  # white noise
        ("You", 0.83, -1.53, -23.0, "no_speech"),  # a 440 Hz tone
        ("I'm really", 0.94, -0.9, -26.0, "no_speech"),  # white noise, ctranslate2 4.8.5
        ("Thank you.", 0.45, -0.9, -45.0, "known_hallucination"),  # quiet room noise
        ("Thanks for watching!", 0.3, -0.5, -30.0, "known_hallucination"),
        (" [Music] ", 0.1, -0.4, -20.0, "no_words"),
        ("you you you you you", 0.1, -0.3, -25.0, "repetition"),
    ],
)
def test_invented_text_is_rejected(
    text: str, no_speech: float, logprob: float, level: float, reason: str
) -> None:
    assert rejection_reason(Evidence(text, no_speech, logprob, level), SETTINGS) == reason


@pytest.mark.parametrize(
    "text",
    ["Thank you.", "Bye.", "I'd like to book an oil change.", "Yes.", "you"],
)
def test_clear_confident_speech_is_kept_even_if_it_is_a_known_phrase(text: str) -> None:
    assert rejection_reason(Evidence(text, 0.02, -0.15, -22.0), SETTINGS) is None


@pytest.mark.parametrize("text", ["5 5 5 5", "five five five five", "oh oh oh oh"])
def test_a_repeated_digit_is_a_number_being_read_out_not_a_loop(text: str) -> None:
    assert rejection_reason(Evidence(text, 0.2, -0.73, -24.0), SETTINGS) is None


def test_canonical_form_ignores_case_and_punctuation() -> None:
    assert canonical("  Thanks for WATCHING!! ") == "thanks for watching"


def test_levels_in_dbfs() -> None:
    assert rms_dbfs(np.zeros(160, dtype=np.float32)) == -120.0
    assert rms_dbfs(np.array([], dtype=np.float32)) == -120.0
    full_square = np.where(np.arange(1600) % 2 == 0, 1.0, -1.0).astype(np.float32)
    assert rms_dbfs(full_square) == pytest.approx(0.0, abs=1e-6)
    assert rms_dbfs(full_square * 0.01) == pytest.approx(-40.0, abs=1e-3)


def test_pcm16_and_float_input_are_read_the_same() -> None:
    pcm = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    assert as_float32(pcm).tolist() == pytest.approx([0.0, 0.5, -1.0, 32767 / 32768])
    assert as_float32(np.array([0.25], dtype=np.float32)).dtype == np.float32
    with pytest.raises(ValueError):
        as_float32(np.zeros((2, 2), dtype=np.int16))
    with pytest.raises(TypeError):
        as_float32(np.zeros(4, dtype=np.int32))  # type: ignore[arg-type]
