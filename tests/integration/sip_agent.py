"""The agent with its embedded SIP endpoint, started in-process for the phone tests, and what to check after."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.audio.resample import resample
from agent.config import Settings
from agent.server.app import create_app
from agent.server.keys import SIP_ENDPOINT
from agent.speech.stt import WhisperSTT
from tests.conftest import NOW
from tests.integration.agent_harness import agent_settings
from tests.integration.sip_peers import Baresip

AGENT_PORT = 5070
KNOWN_CALLER = "+15550142233"  # Maria Gonzalez in fixtures/dealership.yaml


def sip_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "sip_enabled": True,
        "sip_port": AGENT_PORT,
        "rtp_port_min": 21000,
        "rtp_port_max": 21100,
        "media_timeout_s": 3.0,
        "hold_music_after_s": 30.0,
    }
    values.update(overrides)
    return agent_settings(tmp_path, **values)


@asynccontextmanager
async def sip_agent(settings: Settings) -> AsyncIterator[web.Application]:
    app = create_app(settings, clock=lambda: NOW)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the cleanup_ctx: database, models, the SIP endpoint
    try:
        yield app
    finally:
        await runner.cleanup()


def rows(db: Path, sql: str, *args: Any) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, args))


async def heard_text(peer: Baresip) -> str:
    """What the caller heard, transcribed by the same Whisper the agent uses."""
    samples, rate = peer.received_audio()
    stt = WhisperSTT()
    await stt.load()
    try:
        return (await stt.transcribe(resample(samples, rate, 16000))).text.lower()
    finally:
        await stt.aclose()


def active_calls(app: web.Application) -> int:
    endpoint: Any = app[SIP_ENDPOINT]
    return int(endpoint.active_calls)
