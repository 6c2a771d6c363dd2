"""Play a corpus conversation on the typed channel (the dialog over HTTP) or the QA replay (the call pipeline)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from agent.config import Settings
from agent.qa.corpus_judge import AgentTurn, Outcome, corpus_failures, end_state_failures, score
from agent.qa.corpus_manifest import Conversation, replay_scenario_of
from agent.qa.dialog_scenarios import appointment_rows, run_scenario
from agent.qa.voice_replay import replay_scenario
from agent.runtime import Voice
from agent.server.app import create_app

PINNED_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/Chicago"))
TYPED_SETTINGS: dict[str, Any] = {
    "sip_enabled": False,
    "webrtc_enabled": False,
    "rate_limit_per_s": 1e6,
    "rate_limit_burst": 1_000_000,
    "escalation_min_s": 0.2,
    "escalation_max_s": 0.5,
    "escalation_seed": 7,
    "log_level": "error",
}


async def play_typed(conversation: Conversation, settings: dict[str, Any] | None = None) -> Outcome:
    """Each turn's script text sent to POST /api/chat of a fresh agent (pinned clock, the caller id)."""
    outcome = Outcome(conversation.name, "typed")
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "typed.db"
        app = create_app(
            Settings(**(TYPED_SETTINGS | (settings or {}) | {"database_path": database})),
            clock=lambda: PINNED_NOW,
        )
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        scenario: dict[str, Any] = {
            "name": conversation.name,
            "caller_phone": conversation.caller_phone,
            "turns": [{"say": turn.text} for turn in conversation.turns],
        }
        try:
            async with aiohttp.ClientSession() as http:
                result = await run_scenario(http, f"http://127.0.0.1:{port}", scenario)
            rows = appointment_rows(database)
        finally:
            await runner.cleanup()
    outcome.failures += result.failures
    outcome.client_ms, outcome.llm_turns = result.client_ms, result.llm_turns
    outcome.fallbacks = result.understood_by.count("offline-fallback")
    outcome.transcript = [AgentTurn(heard=said, reply=reply) for said, reply in result.transcript]
    everything = " ".join(turn.reply for turn in outcome.transcript)
    outcome.failures += end_state_failures(conversation, everything, rows)
    score(conversation, outcome)
    return outcome


async def play_replay(
    conversation: Conversation,
    settings: Settings,
    voice: Voice,
    *,
    out_dir: Path,
    phone_line: bool = False,
) -> Outcome:
    """The conversation's WAVs through the QA replay (VAD, Whisper, dialog, TTS on the virtual clock); with
    `phone_line`, every turn as a phone call carries it (8 kHz mu-law, as the SIP channel's callers send it)."""
    scenario = replay_scenario_of(conversation) | {"phone_line": phone_line}
    result = await replay_scenario(scenario, settings, voice, out_dir=out_dir)
    outcome = Outcome(
        conversation.name, "replay", failures=[*result.failures, *corpus_failures(scenario, result)]
    )
    outcome.transcript = [
        AgentTurn(
            heard=turn.caller_text,
            reply=turn.agent_text,
            voice_to_voice_ms=turn.voice_to_voice_ms,
            endpoint_wait_ms=turn.endpoint_wait_ms,
            stt_ms=turn.stt_ms,
        )
        for turn in result.turns
    ]
    outcome.voice_to_voice_ms = [turn.voice_to_voice_ms for turn in result.turns]
    outcome.answers_prepared, outcome.prepared_unsaid = result.answers_prepared, result.prepared_unsaid
    score(conversation, outcome)
    return outcome
