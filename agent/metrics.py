"""Prometheus metrics: every name operators graph and alert on, in one module, with the calls that record them.

Calls on every channel (sip, livekit, browser, replay) are counted by the call runner, chat turns by the API,
speech engine fallbacks are read from the TTS at scrape time. `GET /metrics` serves `exposition()`.
"""

from __future__ import annotations

import weakref
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

# Seconds: a phone turn's stages run from tens of milliseconds (dialog) to seconds (an LLM brain, a slow STT).
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
# TurnRecord field (milliseconds) -> the stage label operators see
TURN_STAGES = {
    "endpoint_wait_ms": "end_of_turn_wait",
    "stt_ms": "stt",
    "brain_ms": "dialog",
    "tts_first_audio_ms": "tts_first_audio",
}

CHAT_TURNS = Counter("agent_chat_turns_total", "Chat turns handled over the HTTP API", ["intent"])
TURN_SECONDS = Histogram("agent_turn_processing_seconds", "Dialog processing time per chat turn")
CALLS_ACTIVE = Gauge("agent_calls_active", "Calls in progress in this process", ["channel"])
CALLS = Counter(
    "agent_calls_total",
    "Calls that ended (answered, missed or turned away busy), by channel, outcome and who ended them",
    ["channel", "outcome", "ended_by"],
)
CALLS_REFUSED_BUSY = Counter(
    "agent_calls_refused_busy_total", "Calls turned away because every line was busy", ["channel"]
)
VOICE_TO_VOICE = Histogram(
    "agent_voice_to_voice_seconds",
    "From the end of the caller's speech to the agent's first audio, per caller turn",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
TURN_STAGE = Histogram(
    "agent_call_turn_stage_seconds",
    "Where a caller turn's time went: end_of_turn_wait, stt, dialog, tts_first_audio",
    ["channel", "stage"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter("agent_errors_total", "Failures the agent survived, by where they happened", ["where"])
SPEECH_STALLS = Counter(
    "agent_speech_stalls_total",
    "Sentences of a reply that were ready only after the caller had heard everything before them "
    "(synthesis fell behind: the caller heard a hole)",
)
BRAIN_TURNS = Counter(
    "agent_brain_turns_total",
    "Caller turns (chat and calls) by the brain that understood them: offline, llm, or offline-fallback "
    "(the LLM brain was configured but could not answer)",
    ["brain"],
)
BRAIN_FALLBACKS = Counter(
    "agent_brain_fallbacks_total",
    "LLM requests answered by the offline brain instead, by step and reason "
    "(timeout, unreachable, http_error, unreadable, unsupported_claim, ...)",
    ["step", "reason"],
)
LLM_CALL = Histogram(
    "agent_llm_call_seconds",
    "Time of one LLM request, by task (understand, answer)",
    ["task"],
    buckets=LATENCY_BUCKETS,
)


class FallbackRecord(Protocol):
    """What the fallback TTS keeps: (engine, error) for every sentence an engine failed to say."""

    failures: list[tuple[str, str]]


class _TtsFallbacks(Collector):
    """agent_tts_fallbacks_total{engine}: read from the live TTS objects when Prometheus scrapes."""

    def __init__(self) -> None:
        self._watched: weakref.WeakSet[Any] = weakref.WeakSet()

    def watch(self, tts: object) -> None:
        if isinstance(getattr(tts, "failures", None), list):
            self._watched.add(tts)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "agent_tts_fallbacks",
            "Sentences a TTS engine failed to say (the next engine in AGENT_TTS_ENGINES said them)",
            labels=["engine"],
        )
        tally = Tally(engine for tts in list(self._watched) for engine, _ in list(tts.failures))
        for engine, count in sorted(tally.items()):
            family.add_metric([engine], count)
        yield family


_TTS_FALLBACKS = _TtsFallbacks()
REGISTRY.register(_TTS_FALLBACKS)


def watch_tts(tts: object) -> None:
    """Count this TTS's engine fallbacks (any object with a `failures` list of (engine, error))."""
    _TTS_FALLBACKS.watch(tts)


def chat_turn(intent: str | None, seconds: float) -> None:
    CHAT_TURNS.labels(intent or "none").inc()
    TURN_SECONDS.observe(seconds)


def brain_turn(brain: str) -> None:
    BRAIN_TURNS.labels(brain).inc()


def brain_fallback(step: str, reason: str) -> None:
    BRAIN_FALLBACKS.labels(step, reason).inc()


def llm_call(task: str, seconds: float) -> None:
    LLM_CALL.labels(task).observe(seconds)


def call_started(channel: str) -> None:
    CALLS_ACTIVE.labels(channel).inc()


def call_finished(channel: str) -> None:
    CALLS_ACTIVE.labels(channel).dec()


def call_ended(channel: str, outcome: str, ended_by: str, turns: Iterable[Mapping[str, Any]] = ()) -> None:
    """A call is over: count it, and put each of its turns' latencies into the histograms."""
    CALLS.labels(channel, outcome, ended_by).inc()
    for turn in turns:
        if (total := turn.get("voice_to_voice_ms")) is not None and total >= 0:
            VOICE_TO_VOICE.labels(channel).observe(total / 1000)
        for field, stage in TURN_STAGES.items():
            if (value := turn.get(field)) is not None and value >= 0:
                TURN_STAGE.labels(channel, stage).observe(value / 1000)


def call_refused_busy(channel: str) -> None:
    CALLS_REFUSED_BUSY.labels(channel).inc()


def error(where: str) -> None:
    ERRORS.labels(where).inc()


def speech_stalled() -> None:
    SPEECH_STALLS.inc()


def speech_stalls() -> float:
    """How many times so far a reply's next sentence came late (for the capacity benchmark)."""
    return float(REGISTRY.get_sample_value("agent_speech_stalls_total") or 0.0)


def exposition() -> tuple[bytes, str]:
    """The body and content type of GET /metrics."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST.split(";")[0]
