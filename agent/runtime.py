"""The agent's long-lived parts opened and closed together: database, state, background work, dialog, voice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.calls.factory import CallFactory, call_config
from agent.calls.session import CallParts
from agent.config import Settings, SttSettings, TtsSettings
from agent.dialog.assembly import Dialog, assemble_dialog
from agent.dialog.conversation import EventSink
from agent.dialog.nlu.name_frequency import load_names
from agent.log import get_logger
from agent.speech.stt import SpeechToText, WhisperSTT
from agent.speech.tts import TextToSpeech
from agent.speech.tts_espeak import EspeakTTS
from agent.speech.tts_fallback import FallbackTTS
from agent.speech.tts_hibari import HibariTTS
from agent.speech.tts_kokoro_onnx import KokoroOnnxTTS
from agent.speech.tts_piper import PiperTTS, piper_available
from agent.store.backends import open_database
from agent.store.callbacks import Callbacks
from agent.store.catalog import Catalog
from agent.store.db import Database
from agent.store.scheduling import Scheduling
from agent.store.state_store import StateStore, open_state_store
from agent.tasks.escalation import HumanAvailability

log = get_logger(__name__)


@dataclass
class Voice:
    """The speech models, loaded once per process and shared by every call."""

    stt: SpeechToText
    tts: TextToSpeech
    second_stt: SpeechToText | None = None  # the second opinion: numbers, unsure names, turns not understood

    async def aclose(self) -> None:
        await self.stt.aclose()
        await self.tts.aclose()
        if self.second_stt is not None:
            await self.second_stt.aclose()


@dataclass
class Runtime:
    settings: Settings
    database: Database
    state_store: StateStore
    humans: HumanAvailability
    dialog: Dialog
    voice: Voice | None


def call_factory(settings: Settings, dialog: Dialog, voice: Voice, events: EventSink) -> CallFactory:
    """How this process builds every call (phone, browser, replay): the same parts and the same settings."""
    parts = CallParts(dialog.conversations, voice.stt, voice.tts, events, second_stt=voice.second_stt)
    config = call_config(
        settings.voice,
        settings.stt,
        settings.calls,
        stt_hint=dialog.stt_hint,
        slow_brain=settings.dialog.brain == "llm",
    )
    return CallFactory(parts, config)


def tts_engines(settings: TtsSettings) -> list[TextToSpeech]:
    """The configured engines that can run here, in fallback order (missing optional ones are skipped)."""
    engines: list[TextToSpeech] = []
    for name in settings.tts_engines:
        if name == "hibari":
            engines.append(HibariTTS(threads=1))
        elif name == "kokoro" and settings.kokoro_model_path and settings.kokoro_voices_path:
            engines.append(
                KokoroOnnxTTS(settings.kokoro_model_path, settings.kokoro_voices_path, settings.kokoro_voice)
            )
        elif name == "piper" and piper_available():
            engines.append(PiperTTS(settings.piper_voice_path))
        elif name == "espeak" and EspeakTTS.available():
            engines.append(EspeakTTS())
    if not engines:
        raise RuntimeError(f"none of the TTS engines {settings.tts_engines} can run on this machine")
    return engines


async def open_voice(stt_settings: SttSettings, tts_settings: TtsSettings) -> Voice:
    stt = WhisperSTT(
        model=stt_settings.stt_model,
        threads=stt_settings.stt_threads,
        workers=stt_settings.stt_workers,
        window_margin_s=stt_settings.stt_window_margin_s or None,
    )
    tts = FallbackTTS(tts_engines(tts_settings))
    await stt.load()
    await tts.load()
    await asyncio.to_thread(load_names)  # turn-taking asks whether words over the agent are a caller's name
    return Voice(stt, tts, await _number_model(stt_settings))


async def _number_model(settings: SttSettings) -> SpeechToText | None:
    """The more accurate model for numbers, when configured and installed (the `whisper-base` packages)."""
    if settings.stt_number_model == "off":
        return None
    model = WhisperSTT(
        model=settings.stt_number_model,
        # One thread per decode, two at once, like tiny.en: on this 2-core machine base decoded the corpus's 39
        # phone numbers in p50 266 / p95 ~500 ms on one thread and 300-326 / 525-576 on two (and 220 turns: 201 /
        # 390 against 237 / 441), and one thread leaves the other core to tiny.en decoding beside it.
        threads=1,
        workers=2,
        window_margin_s=settings.stt_window_margin_s or None,
    )
    try:
        await model.load()
    except Exception as exc:  # not installed: numbers are decoded once, by the fast model
        log.warning("stt_number_model_unavailable", model=settings.stt_number_model, error=str(exc))
        await model.aclose()
        return None
    return model


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    events: EventSink,
    clock: Callable[[], datetime] | None = None,
    voice: bool = False,
) -> AsyncIterator[Runtime]:
    """Open everything in order and close it in reverse, whatever happens in between."""
    tz = ZoneInfo(settings.store.timezone)
    database = await open_database(settings.store)
    store = open_state_store(
        settings.store.state_backend,
        redis_url=settings.store.redis_url,
        ttl_s=settings.store.session_ttl_s,
        max_sessions=settings.store.max_sessions,
    )
    humans: HumanAvailability | None = None
    dialog: Dialog | None = None
    speech: Voice | None = None
    try:
        if not await store.healthy():
            log.warning("state_store_unreachable", backend=store.backend)
        scheduling = Scheduling(database, tz)
        humans = HumanAvailability(
            settings.escalation,
            store=store,
            callbacks=Callbacks(database, tz),
            catalog=Catalog(database),
            events=events,
            tz=tz,
            clock=clock,
        )
        dialog = await assemble_dialog(
            settings.dialog,
            timezone=settings.store.timezone,
            db=database,
            store=store,
            scheduling=scheduling,
            humans=humans,
            events=events,
            clock=clock,
        )
        if voice:
            speech = await open_voice(settings.stt, settings.tts)
        yield Runtime(settings, database, store, humans, dialog, speech)
    finally:
        if humans is not None:
            await humans.aclose()
        if speech is not None:
            await speech.aclose()
        if dialog is not None:
            await dialog.aclose()
        await store.aclose()
        await database.aclose()
