"""Guards against text Whisper invents on silence, noise and breaths ("thank you", "thanks for watching", "you")."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Whisper was trained on subtitled video, so on audio without speech it tends to produce the sign-offs of
# YouTube subtitles. These phrases are real words a caller can say, so they are only dropped when the audio
# gives little evidence of speech (low energy, or Whisper itself unsure); a clear "thank you" passes.
KNOWN_HALLUCINATIONS = frozenset(
    {
        "thank you",
        "thank you very much",
        "thank you so much",
        "thanks",
        "thanks for watching",
        "thank you for watching",
        "thanks for watching and see you next time",
        "please subscribe",
        "subscribe to my channel",
        "like and subscribe",
        "you",
        "bye",
        "bye bye",
        "goodbye",
        "oh",
        "uh",
        "um",
        "hmm",
        "so",
        "the end",
        "music",
        "applause",
        "silence",
        "subtitles by the amara org community",
        "",
    }
)
_DIGIT_WORDS = frozenset(
    ["zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
)
_NON_WORDS_RE = re.compile(r"[^a-z0-9' ]+")
_BRACKETED_RE = re.compile(r"[\[(*♪][^\])*♪]*[\])*♪]")  # "[Music]", "(applause)", "♪ ... ♪"


def canonical(text: str) -> str:
    """Lower case, no punctuation, single spaces: the form the phrase list is written in."""
    return " ".join(_NON_WORDS_RE.sub(" ", text.lower()).split())


def rms_dbfs(samples: npt.NDArray[np.float32]) -> float:
    """Loudness of float samples in [-1, 1], in dB relative to full scale (-120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-120.0, 20.0 * np.log10(rms)) if rms > 0 else -120.0


@dataclass(frozen=True)
class GuardSettings:
    # Below this the audio is not worth a model call (an idle phone line is -60 dBFS or lower).
    silence_dbfs: float = -55.0
    # Whisper's own "no speech" rule: both high no-speech probability and low confidence in the words.
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    # A known hallucination survives only with real energy and a confident, speech-like decode.
    quiet_dbfs: float = -40.0
    suspicious_no_speech: float = 0.2
    suspicious_logprob: float = -0.7
    # Whisper all but sure there is no speech: a shaky decode is not enough to keep its words either
    # (white noise read as "I'm really": no-speech 0.94, log-prob -0.90).
    certain_no_speech: float = 0.9


@dataclass(frozen=True)
class Evidence:
    text: str
    no_speech_prob: float
    avg_logprob: float
    level_dbfs: float


def rejection_reason(evidence: Evidence, settings: GuardSettings) -> str | None:
    """Why this decode should be thrown away, or None when it looks like real speech."""
    if evidence.level_dbfs < settings.silence_dbfs:
        return "silence"
    if (
        evidence.no_speech_prob > settings.no_speech_threshold
        and evidence.avg_logprob < settings.logprob_threshold
    ):
        return "no_speech"
    if (
        evidence.no_speech_prob > settings.certain_no_speech
        and evidence.avg_logprob < settings.suspicious_logprob
    ):
        return "no_speech"
    stripped = _BRACKETED_RE.sub(" ", evidence.text)
    words = canonical(stripped)
    if not words:
        return "no_words"
    tokens = words.split()
    if (
        len(tokens) >= 4
        and len(set(tokens)) == 1
        and not tokens[0].isdigit()
        and tokens[0] not in _DIGIT_WORDS
    ):
        return "repetition"  # "you you you you"; "5 5 5 5" is a caller reading out a number
    if words in KNOWN_HALLUCINATIONS:
        weak = (
            evidence.level_dbfs < settings.quiet_dbfs
            or evidence.no_speech_prob > settings.suspicious_no_speech
            or evidence.avg_logprob < settings.suspicious_logprob
        )
        if weak:
            return "known_hallucination"
    return None
