"""What the listener tells the coordinator about the caller: the events that move one call forward."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class SpeechStarted:
    """The caller began speaking (the VAD confirmed it; the audio from before that is kept)."""

    at_s: float


@dataclass(frozen=True)
class SpeechSustained:
    """The caller has been speaking for at least the barge-in minimum; sent on every frame from then on, so a
    reply that starts while they are still talking is interrupted too."""

    at_s: float
    speech_s: float


@dataclass(frozen=True)
class InterimText:
    """What the caller has said so far, while they are still speaking (for the console)."""

    text: str


@dataclass(frozen=True)
class UserTurn:
    """The caller finished a turn: their words (empty when Whisper heard nothing) and how long each stage took.

    `continues` is the earlier turn this one goes on from: the caller paused, the turn was closed, and they
    went on within the continuation window. `text` is then the whole utterance, decoded again from its audio
    (the earlier words included); the coordinator answers it in place of the earlier turn when the dialog can
    take that one back."""

    text: str
    speech_end_s: float  # media time the caller stopped speaking
    detect_wait_s: float  # from the end of speech to the VAD saying so
    stt_ms: float
    waited_s: float  # silence waited before the turn was taken
    speech_s: float  # how long the caller spoke
    avg_logprob: float = 0.0
    continues: UserTurn | None = None
    audio: npt.NDArray[np.int16] | None = field(
        default=None, repr=False, compare=False
    )  # 16 kHz, for hearing again
    second_opinion: bool = False  # the second model already decoded it


@dataclass(frozen=True)
class TurnLikely:
    """The caller's words are decoded and sound finished, but the end-of-turn silence still runs: the answer may
    be worked out now and held, to be said the moment the same turn is taken (a `UserTurn` with these words)."""

    turn: UserTurn


@dataclass(frozen=True)
class Continuation:
    """The caller started speaking again right after a turn of theirs was closed: it was not over."""

    at_s: float
    joins: UserTurn


@dataclass(frozen=True)
class Tick:
    """A quarter second of call time passed; `caller_active` while they speak or a turn of theirs is pending."""

    at_s: float
    caller_active: bool


CallEvent = SpeechStarted | SpeechSustained | InterimText | UserTurn | TurnLikely | Continuation | Tick
EmitEvent = Callable[[CallEvent], Awaitable[None]]
