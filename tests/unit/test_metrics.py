"""What GET /metrics tells operators: calls by channel and outcome, turn latencies by stage, TTS fallbacks."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from agent import metrics
from agent.speech.tts import Int16Array, TextToSpeech
from agent.speech.tts_fallback import FallbackTTS

pytestmark = pytest.mark.unit


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class FlakyTTS(TextToSpeech):
    def __init__(self, name: str, *, broken: bool) -> None:
        self.name = name
        self.sample_rate = 24000
        self.broken = broken

    async def synthesize(self, text: str) -> Int16Array:
        if self.broken:
            raise RuntimeError("model crashed")
        return np.ones(240, np.int16)


def test_an_ended_call_counts_by_outcome_and_its_turns_fill_the_stage_histograms() -> None:
    channel = f"test-{uuid.uuid4().hex[:6]}"  # a channel no other test counts on
    turn = {
        "endpoint_wait_ms": 450.0,
        "stt_ms": 130.0,
        "brain_ms": 12.0,
        "tts_first_audio_ms": 60.0,
        "voice_to_voice_ms": 560.0,
    }
    metrics.call_started(channel)
    assert sample("agent_calls_active", channel=channel) == 1
    metrics.call_finished(channel)
    metrics.call_ended(channel, "booked", "caller", [turn, {**turn, "voice_to_voice_ms": 1400.0}])
    assert sample("agent_calls_active", channel=channel) == 0
    assert sample("agent_calls_total", channel=channel, outcome="booked", ended_by="caller") == 1
    assert sample("agent_voice_to_voice_seconds_count", channel=channel) == 2
    assert sample("agent_voice_to_voice_seconds_sum", channel=channel) == pytest.approx(1.96)
    assert sample("agent_voice_to_voice_seconds_bucket", channel=channel, le="0.6") == 1  # 560 ms, not 1.4 s
    for stage, seconds in (
        ("end_of_turn_wait", 0.9),
        ("stt", 0.26),
        ("dialog", 0.024),
        ("tts_first_audio", 0.12),
    ):
        assert sample("agent_call_turn_stage_seconds_sum", channel=channel, stage=stage) == pytest.approx(
            seconds
        )


async def test_tts_engine_fallbacks_are_counted_by_the_engine_that_failed() -> None:
    before = sample("agent_tts_fallbacks_total", engine="crashy")
    tts = FallbackTTS([FlakyTTS("crashy", broken=True), FlakyTTS("steady", broken=False)])
    metrics.watch_tts(tts)
    await tts.synthesize("Your car is ready. The invoice is at the desk.")
    # the first sentence fell back; the second went straight to "steady" (crashy cools down for 60 s)
    assert sample("agent_tts_fallbacks_total", engine="crashy") == before + 1
    assert sample("agent_tts_fallbacks_total", engine="steady") == 0


def test_the_exposition_parses_and_names_every_family() -> None:
    metrics.chat_turn("faq", 0.012)
    metrics.error("http")
    body, content_type = metrics.exposition()
    assert content_type == "text/plain"
    families = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {
        "agent_chat_turns",
        "agent_turn_processing_seconds",
        "agent_calls_active",
        "agent_calls",
        "agent_calls_refused_busy",
        "agent_voice_to_voice_seconds",
        "agent_call_turn_stage_seconds",
        "agent_errors",
        "agent_tts_fallbacks",
    } <= families
