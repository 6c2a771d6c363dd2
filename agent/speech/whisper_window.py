"""Whisper decoding on an encoder window fitted to the utterance instead of the fixed 30 s: 4x faster on CPU.

Whisper's encoder always sees 30 s of audio (3,000 mel frames), so a two-second "yes" costs as much as a long
sentence, and on two CPU cores that encoder pass is most of the 0.35-0.6 s a turn spends in STT. CTranslate2
accepts a shorter input: the encoder's cost falls with it (3,000 frames ~420 ms, 1,000 ~50 ms here). Cut too
tight, the decoder believes the audio goes on and repeats itself ("Yes. Yes. Yes."); with a margin of a few
seconds of padding and timestamps on, it places the end of speech and any segment that starts after the real
audio is a repetition to drop. Measured through the pipeline on the voice fixtures: word error 5.2 % against
5.7 % for the full window, STT p50 ~130 ms instead of ~520 ms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from faster_whisper import WhisperModel  # type: ignore[import-untyped]

SAMPLE_RATE = 16000
HOP = 160  # samples per mel frame (10 ms)
FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s
TIMESTAMP_S = 0.02  # one timestamp token step
END_TOLERANCE_S = 0.05
MAX_DECODER_POSITIONS = 448
LAST_TIMESTAMP_INDEX = 1500  # <|30.00|>
LATE_TIMESTAMP_S = 1.0
LEAD_SILENCE_S = 0.4  # digital silence put before a short utterance for the encoder ...
LEAD_SILENCE_UNDER_S = 1.2  # ... one under this long (with its 0.3 s pre-roll and 0.12 s tail)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD_LOOP = re.compile(r"\b([A-Za-z]+)(?:[,\s]+\1\b){2,}[,]?")  # "S, S, S, S" (digits are never looped)
MAX_PROMPT_TOKENS = 223  # what faster-whisper allows a prompt: half the decoder, less the start tokens  # a segment starting this close to the end of the audio is past it


@dataclass(frozen=True)
class WindowedDecode:
    """One utterance's decode: text, Whisper's no-speech probability and mean token log-probability."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    window_frames: int


def fitted_frames(samples: int, margin_s: float) -> int | None:
    """Encoder frames for an utterance of `samples`: its length plus the margin, rounded up to a whole
    second; None when that would not fit Whisper's 30 s window (the classic path then splits it)."""
    frames = math.ceil(samples / HOP) + round(margin_s * 100)
    window = math.ceil(frames / 100) * 100
    return window if window <= FULL_WINDOW_FRAMES else None


def segments_before_end(
    token_ids: list[int], *, timestamp_begin: int, eot: int, duration_s: float
) -> list[list[int]]:
    """Split a timestamped decode into segments of text tokens; stop at the first segment after the first
    that starts once the real audio has ended (the padding made Whisper repeat itself there). The first
    segment is always kept: Whisper sometimes dates its start late on a very short utterance."""
    segments: list[list[int]] = []
    current: list[int] = []
    start_s = 0.0
    for token in token_ids:
        if token >= timestamp_begin:
            if current:  # an end timestamp; it doubles as the next start if text follows directly
                segments.append(current)
                current = []
            start_s = (token - timestamp_begin) * TIMESTAMP_S
            continue
        if token >= eot:  # end of text and other special tokens
            continue
        if not current and segments and start_s >= duration_s - END_TOLERANCE_S:
            break
        current.append(token)
    if current:
        segments.append(current)
    return segments


def late_timestamps(timestamp_begin: int, after_s: float) -> list[int]:
    """Token ids of every timestamp after `after_s` (Whisper has 1,501: 0.00 to 30.00 s)."""
    first = math.ceil(after_s / TIMESTAMP_S)
    return [timestamp_begin + index for index in range(max(0, first), LAST_TIMESTAMP_INDEX + 1)]


def without_repeats(texts: list[str]) -> list[str]:
    """Drop a sentence that only repeats the one before it, inside a segment or across segments (a decoder
    loop, "Scup. Scup. Scup.", not something a caller says twice in one breath)."""
    kept: list[str] = []
    previous = ""
    for text in texts:
        for sentence in _SENTENCE_END.split(text.strip()):
            bare = sentence.strip().strip(".,!? ").lower()
            if not bare or bare == previous:
                continue
            kept.append(_WORD_LOOP.sub(r"\1", sentence.strip()))
            previous = bare
    return kept


def decode_fitted(
    model: WhisperModel,
    audio: npt.NDArray[np.float32],
    *,
    margin_s: float,
    beam_size: int = 1,
    hint: str | None = None,
) -> WindowedDecode | None:
    """Transcribe one utterance (16 kHz float32) on a fitted window; None when it is too long for one."""
    import ctranslate2  # type: ignore[import-untyped]
    from faster_whisper.tokenizer import Tokenizer  # type: ignore[import-untyped]

    # Digital silence before a short answer too: cut by the VAD with 0.3 s of the line before it, "Yes." was
    # "Yeee!" and "Yee-haw." on SIP calls (the caller corpus's turns under 1.5 s as a call cuts them, with the
    # prompts calls use: 89.7 -> 93.8 % of their words).
    if audio.size < LEAD_SILENCE_UNDER_S * SAMPLE_RATE:  # longer turns lost a digit or a time's colon with it
        audio = np.concatenate([np.zeros(round(LEAD_SILENCE_S * SAMPLE_RATE), np.float32), audio])
    window = fitted_frames(audio.size, margin_s)
    if window is None:
        return None
    # Pad the audio, not the features: digital silence after the speech, as Whisper was trained on (zeroed
    # features are not silence to it; measured on the phone-band fixtures: 5.3 % word error against 4.2 %).
    padded = np.pad(audio, (0, max(0, window * HOP - audio.size)))
    features = model.feature_extractor(padded)[:, :window]
    # StorageView.from_array shares the numpy buffer: keep `batch` referenced until the encoder is done.
    batch = np.ascontiguousarray(features[None], dtype=np.float32)
    encoded = model.model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=False)
    del batch
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
    previous = tokenizer.encode(" " + hint.strip()) if hint and hint.strip() else []
    prompt = model.get_prompt(tokenizer, previous[-MAX_PROMPT_TOKENS:], without_timestamps=False)
    duration_s = audio.size / SAMPLE_RATE
    result = model.model.generate(
        encoded,
        [prompt],
        beam_size=beam_size,
        return_scores=True,
        return_no_speech_prob=True,
        # Counts the prompt too (the decoder has 448 positions): room for ~10 tokens per second of audio.
        max_length=min(MAX_DECODER_POSITIONS, len(prompt) + int(24 + 10 * duration_s)),
        suppress_blank=True,
        # No timestamp past the audio (+1 s): on a short window Whisper otherwise ends a segment at, say,
        # 21.6 s and stops, losing the rest of a phone number read out with pauses.
        suppress_tokens=[-1, *late_timestamps(tokenizer.timestamp_begin, duration_s + LATE_TIMESTAMP_S)],
    )[0]
    token_ids = list(result.sequences_ids[0])
    segments = segments_before_end(
        token_ids, timestamp_begin=tokenizer.timestamp_begin, eot=tokenizer.eot, duration_s=duration_s
    )
    texts = without_repeats([tokenizer.decode(segment) for segment in segments])
    length = max(1, len(token_ids))
    avg_logprob = float(result.scores[0]) * length / (length + 1)
    return WindowedDecode(" ".join(texts), float(result.no_speech_prob), avg_logprob, window)
