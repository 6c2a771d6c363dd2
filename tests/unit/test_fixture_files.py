"""The committed voice fixtures: every WAV of voice.yaml exists in its band's format and matches its scenario."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.audio.level import dbfs, peak
from agent.audio.wav import read_wav
from agent.qa.fixture_synthesis import load_voice_scenarios

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
VOICE_FILE = FIXTURES / "scenarios" / "voice.yaml"
CONVERSATIONS_FILE = FIXTURES / "scenarios" / "conversations.yaml"
BAND_RATES = {"clean": 16000, "phone": 8000}
WAV_FORMAT_TAGS = {"clean": (1, 16), "phone": (7, 8)}  # (format tag, bits): PCM 16-bit, mu-law 8-bit
MAX_TOTAL_BYTES = 15_000_000

VOICE: list[dict[str, Any]] = yaml.safe_load(VOICE_FILE.read_text(encoding="utf-8"))
CONVERSATIONS: dict[str, dict[str, Any]] = {
    entry["name"]: entry for entry in yaml.safe_load(CONVERSATIONS_FILE.read_text(encoding="utf-8"))
}
TURNS = [(scenario, turn) for scenario in VOICE for turn in scenario["turns"]]


def turn_id(item: tuple[dict[str, Any], dict[str, Any]]) -> str:
    return str(item[1]["wav"])


def wav_header(path: Path) -> tuple[int, int, int]:
    """(format tag, channels, bits per sample) of the fmt chunk, which follows the RIFF header in our files."""
    data = path.read_bytes()[:36]
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt ", f"{path} is not a plain WAVE file"
    tag, channels, _, _, _, bits = struct.unpack_from("<HHIIHH", data, 20)
    return tag, channels, bits


def replies_expected(scenario: dict[str, Any]) -> int:
    """Turns that get a reply of their own: all but the backchannels (barge-in turns that must not interrupt)."""
    return sum(1 for turn in scenario["turns"] if turn.get("interrupts", True))


def test_voice_scenarios_cover_the_suite() -> None:
    names = [scenario["name"] for scenario in VOICE]
    assert len(names) == len(set(names)) >= 14
    clean = {scenario["based_on"] for scenario in VOICE if scenario["band"] == "clean"}
    with_caller_turns = {
        n for n, entry in CONVERSATIONS.items() if entry.get("turns") and entry.get("voice", True)
    }
    assert with_caller_turns - {"hostile_text"} <= clean
    phone = {scenario["based_on"] for scenario in VOICE if scenario["band"] == "phone"}
    wanted = {"oil_change_next_tuesday", "correction_before_confirming", "known_caller_test_drive"}
    assert wanted | {"escalation_to_human"} <= phone
    assert any(scenario.get("noise_snr_db") is not None for scenario in VOICE)
    assert any(turn.get("interrupts") is True for _, turn in TURNS)
    assert any(turn.get("interrupts") is False for _, turn in TURNS)
    assert any(len(turn.get("tts_segments", [])) > 1 for _, turn in TURNS)


@pytest.mark.parametrize("item", TURNS, ids=turn_id)
def test_turn_wav_is_usable_audio(item: tuple[dict[str, Any], dict[str, Any]]) -> None:
    scenario, turn = item
    path = FIXTURES / turn["wav"]
    assert turn["wav"].startswith(f"audio/{scenario['name']}/")
    assert path.is_file(), f"{path} is missing: run scripts/make-fixtures"
    tag, channels, bits = wav_header(path)
    assert (tag, bits) == WAV_FORMAT_TAGS[scenario["band"]]
    assert channels == 1
    samples, rate = read_wav(path)
    assert rate == BAND_RATES[scenario["band"]]
    assert 0.5 <= samples.size / rate <= 15.0
    assert dbfs(samples) > -40.0, "the turn is (nearly) silent"
    assert peak(samples) < 1.0, "the turn clips"


@pytest.mark.parametrize("scenario", VOICE, ids=lambda scenario: str(scenario["name"]))
def test_scenario_matches_its_based_on_scenario(scenario: dict[str, Any]) -> None:
    assert scenario["band"] in BAND_RATES
    assert scenario["based_on"] in CONVERSATIONS, f"unknown based_on {scenario['based_on']!r}"
    based_on = CONVERSATIONS[scenario["based_on"]]
    if "caller_phone" in based_on:
        assert scenario.get("caller_phone") == based_on["caller_phone"]
    for turn in scenario["turns"]:
        # a turn starts after a pause or, for a barge-in, a set time into the agent's reply: never both
        assert ("pause_before_s" in turn) != ("barge_in_after_s" in turn), turn["wav"]
        assert ("barge_in_after_s" in turn) == ("interrupts" in turn), turn["wav"]
    if "expect" in scenario:
        expect = scenario["expect"]
        assert set(expect) <= {"agents", "reply_has", "reply_has_any", "appointments"}
        assert len(expect["agents"]) == replies_expected(scenario)
        if "reply_has" in expect:
            assert len(expect["reply_has"]) == len(expect["agents"])
        return
    says = [turn["say"] for turn in based_on["turns"]]
    assert len(scenario["turns"]) == len(says)
    for turn, say in zip(scenario["turns"], says, strict=True):
        if "say_differs" in turn:
            assert turn["text"] != say, f"{turn['wav']}: say_differs is set but the text is the say line"
        else:
            assert turn["text"] == say, f"{turn['wav']}: text differs from the based-on say line"


def test_differences_from_say_lines_are_documented() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for scenario, turn in TURNS:
        if "say_differs" in turn or "tts_text" in turn or "tts_phonemes" in turn:
            assert scenario["name"] in readme, f"{scenario['name']} has synthesis overrides the README omits"


def test_generator_reads_the_scenario_file() -> None:
    scenarios = load_voice_scenarios(VOICE_FILE)
    assert [scenario.name for scenario in scenarios] == [scenario["name"] for scenario in VOICE]
    slow = next(scenario for scenario in scenarios if scenario.name == "oil_change_slow_phone_number")
    assert max(len(turn.segments) for turn in slow.turns) == 3


def test_committed_audio_stays_small() -> None:
    total = sum(path.stat().st_size for path in (FIXTURES / "audio").rglob("*.wav"))
    assert 0 < total <= MAX_TOTAL_BYTES
