"""What a call remembers: each caller turn (latency per stage), each barge-in, and what the call did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TurnRecord:
    """One caller turn as the call saw it; latency figures in milliseconds."""

    caller_text: str
    agent_text: str
    agent: str
    speech_end_s: float
    endpoint_wait_ms: float
    stt_ms: float
    brain_ms: float
    tts_first_audio_ms: float
    voice_to_voice_ms: float
    ended: bool = False
    turn_id: str = ""  # the dialog's id for this turn: the console draws its two `latency` events as one bar
    understood_by: str = ""  # the brain that understood the turn: offline, llm, or offline-fallback

    def latency_event(self, session_id: str) -> dict[str, Any]:
        return {
            "type": "latency",
            "session_id": session_id,
            "data": {
                "turn_id": self.turn_id,
                "endpoint_wait_ms": round(self.endpoint_wait_ms, 1),
                "stt_ms": round(self.stt_ms, 1),
                "llm_ms": round(self.brain_ms, 1),
                "tts_ms": round(self.tts_first_audio_ms, 1),
                "total_ms": round(self.voice_to_voice_ms, 1),
                "understood_by": self.understood_by,
            },
        }


@dataclass
class BargeIn:
    at_s: float
    heard: str
    resumed: bool = False  # a false interruption ("mm-hmm", a cough): the reply went on


@dataclass
class CallReport:
    """What a call did, for the calls table, operators and QA."""

    turns: list[TurnRecord] = field(default_factory=list)
    barge_ins: list[BargeIn] = field(default_factory=list)
    notifications_spoken: list[str] = field(default_factory=list)
    ended_by_agent: bool = False
    transferred_to: str | None = None
    transfer_failed: bool = False
    continuations_joined: int = 0  # turns answered again as one with what the caller went on to say
    answers_prepared: int = 0  # answers worked out in the end-of-turn silence, said when the turn was taken
    prepared_unsaid: int = 0  # answers prepared and not said: the caller went on
