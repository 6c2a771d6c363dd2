"""QA replay: caller WAVs through the real call pipeline (VAD, Whisper, dialog, TTS), judged by end state."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from agent.audio.g711 import mulaw_decode, mulaw_encode
from agent.audio.resample import resample
from agent.audio.wav import read_wav, write_wav
from agent.calls.turn_record import TurnRecord
from agent.config import Settings
from agent.qa.dialog_scenarios import (
    ScenarioResult,
    appointment_rows,
    check_appointments,
    check_turn,
    load_scenarios,
)
from agent.qa.word_error import word_error_rate
from agent.runtime import Voice, call_factory, open_runtime
from telephony.replay import CallerTurn, ReplayCall

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
VOICE_FILE = FIXTURES / "scenarios" / "voice.yaml"
PINNED_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/Chicago"))
BAND_RATES = {"clean": 16000, "phone": 8000}
PHONE_RATE = BAND_RATES["phone"]


class EventLog:
    """An EventSink that keeps what a live console would have been sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def publish(self, session_id: str, event: dict[str, Any]) -> None:
        self.events.append(event)


@dataclass
class VoiceResult:
    name: str
    failures: list[str] = field(default_factory=list)
    turns: list[TurnRecord] = field(default_factory=list)
    heard_back: str = ""
    agent_wav: str = ""
    caller_text: list[str] = field(default_factory=list)
    barge_ins: list[Any] = field(default_factory=list)
    notifications: list[str] = field(default_factory=list)
    stt_wer: float | None = None
    answers_prepared: int = 0  # said the moment the turn was taken
    prepared_unsaid: int = 0  # dropped: the caller went on

    @property
    def passed(self) -> bool:
        return not self.failures


def through_phone_line(samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """The audio as a phone call carries it: 8 kHz, G.711 mu-law there and back (what a SIP caller sends)."""
    narrow = resample(samples, rate, PHONE_RATE) if rate != PHONE_RATE else samples
    return mulaw_decode(mulaw_encode(narrow)), PHONE_RATE


async def caller_turns(scenario: dict[str, Any], rate: int, voice: Voice) -> list[CallerTurn]:
    """Each turn's audio: its WAV (relative to fixtures/, or absolute), or its `text` synthesised now; with
    `phone_line` set, as a phone call carries it."""
    turns = []
    for turn in scenario["turns"]:
        if "wav" in turn:
            samples, wav_rate = read_wav(FIXTURES / turn["wav"])
        else:
            spoken = await voice.tts.synthesize(turn["text"])
            pad = np.zeros(int(0.3 * voice.tts.sample_rate), np.int16)
            samples, wav_rate = np.concatenate([pad, spoken, pad, pad]), voice.tts.sample_rate
        if scenario.get("phone_line"):
            samples, wav_rate = through_phone_line(samples, wav_rate)
        if wav_rate != rate:
            samples = resample(samples, wav_rate, rate)
        turns.append(CallerTurn(samples, turn.get("pause_before_s", 0.6), turn.get("barge_in_after_s")))
    return turns


def _judge(scenario: dict[str, Any], based_on: dict[str, Any] | None, result: VoiceResult, db: Path) -> None:
    expect = scenario.get("expect")
    records = result.turns
    for turn in scenario["turns"]:
        if "interrupts" not in turn:
            continue
        real = [b for b in result.barge_ins if not b.resumed]
        if turn["interrupts"] and not real:
            result.failures.append(f"{turn.get('text')!r} should have interrupted the agent, it did not")
        if not turn["interrupts"] and real:
            result.failures.append(f"{turn.get('text')!r} stopped the agent's reply (a false interruption)")
    everything_said = " ".join([*(r.agent_text for r in records), *result.notifications]).lower()
    if expect is not None:
        if not records:
            result.failures.append("the agent answered no caller turn")
        agents = expect.get("agents")
        if agents is not None and [r.agent for r in records] != agents:
            result.failures.append(f"agents {[r.agent for r in records]}, expected {agents}")
        any_of = expect.get("reply_has_any", [])
        if any_of and not any(p.lower() in everything_said for p in any_of):
            result.failures.append(f"no reply has any of {any_of}")
        for index, phrases in enumerate(expect.get("reply_has", [])):
            reply = records[index].agent_text.lower() if index < len(records) else ""
            missing = [p for p in phrases if str(p).lower() not in reply]
            if missing:
                result.failures.append(f"reply {index + 1} lacks {missing}: {reply!r}")
        if "appointments" in expect:
            proxy = ScenarioResult(scenario["name"])
            check_appointments(expect, appointment_rows(db), proxy)
            result.failures.extend(proxy.failures)
        return
    assert based_on is not None
    proxy = ScenarioResult(scenario["name"])
    expected_turns = based_on["turns"]
    if len(records) != len(expected_turns):
        proxy.failures.append(f"the agent answered {len(records)} turns, expected {len(expected_turns)}")
    for index, (want, got) in enumerate(zip(expected_turns, records, strict=False)):
        # Notifications are spoken the moment they land on a call, so "any of" looks at everything said.
        reply = everything_said if "reply_has_any" in want else got.agent_text
        check_turn(want, {"agent": got.agent, "reply": reply, "ended": got.ended}, proxy, index)
    check_appointments(based_on, appointment_rows(db), proxy)
    result.failures.extend(proxy.failures)


async def replay_scenario(
    scenario: dict[str, Any], settings: Settings, voice: Voice, *, out_dir: Path, realtime: bool = False
) -> VoiceResult:
    """One scenario on a fresh database; the agent side is written to `out_dir/<name>.agent.wav`."""
    based = {s["name"]: s for s in load_scenarios()}.get(scenario.get("based_on", ""))
    rate = PHONE_RATE if scenario.get("phone_line") else BAND_RATES[scenario.get("band", "clean")]
    result = VoiceResult(scenario["name"])
    with tempfile.TemporaryDirectory() as tmp:
        scenario_settings = settings.replace(database_path=Path(tmp) / "replay.db")
        events = EventLog()
        async with open_runtime(scenario_settings, events=events, clock=lambda: PINNED_NOW) as runtime:
            call = ReplayCall(
                await caller_turns(scenario, rate, voice),
                caller_id=scenario.get("caller_phone"),
                input_rate=rate,
                output_rate=rate,
                realtime=realtime,
            )
            session = call_factory(scenario_settings, runtime.dialog, voice, events).session(call)
            await session.run()
            result.turns = session.turns
            result.barge_ins = session.barge_ins
            result.notifications = session.notifications_spoken
            result.answers_prepared = session.report.answers_prepared
            result.prepared_unsaid = session.report.prepared_unsaid
            _judge(scenario, based, result, scenario_settings.store.database_path)
        agent_audio = np.concatenate(call.log.agent) if call.log.agent else np.zeros(0, np.int16)
        wav_path = out_dir / f"{scenario['name']}.agent.wav"
        await asyncio.to_thread(_save_wav, wav_path, agent_audio, rate)
        result.agent_wav = str(wav_path)
        heard = await voice.stt.transcribe(resample(agent_audio[: rate * 25], rate, 16000))
        result.heard_back = heard.text
        if "riverside" not in re.sub(r"[^a-z ]", "", heard.text.lower()):
            result.failures.append(f"the greeting was not heard back from the agent audio: {heard.text!r}")
        said = [t.get("text", "") for t in scenario["turns"]]
        result.caller_text = [r.caller_text for r in result.turns]
        if len(result.caller_text) == len(said):
            result.stt_wer = word_error_rate(" ".join(said), " ".join(result.caller_text))
    return result


def _save_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, samples, rate)


def write_report(results: list[VoiceResult], out_dir: Path) -> Path:
    path = out_dir / "report.json"
    path.write_text(json.dumps([{**asdict(r), "passed": r.passed} for r in results], indent=2, default=str))
    return path
