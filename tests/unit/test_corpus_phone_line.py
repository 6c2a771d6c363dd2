"""The corpus benchmark's offline phone line (8 kHz mu-law) and its saved runs pooled into one report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.qa.corpus_judge import AgentTurn, Outcome
from agent.qa.corpus_manifest import load_corpus
from agent.qa.voice_replay import caller_turns, through_phone_line
from benchmarks.caller_corpus import load_outcomes, report, save_outcomes

pytestmark = pytest.mark.unit


def _tone_level(samples: np.ndarray, rate: int, hz: float) -> float:
    """The amplitude of one frequency in the samples."""
    t = np.arange(samples.size) / rate
    return float(abs(np.dot(samples.astype(np.float64), np.exp(-2j * np.pi * hz * t))) * 2 / samples.size)


async def test_a_phone_line_turn_loses_what_the_phone_band_cannot_carry() -> None:
    corpus = load_corpus()
    clean = next(c for c in corpus.conversations if c.band == "clean")
    scenario: dict[str, Any] = {"turns": [{"wav": clean.turns[0].wav}]}
    no_voice: Any = None  # the turns are WAVs: nothing is synthesised
    wide = (await caller_turns(scenario, 16000, no_voice))[0].audio
    phone = (await caller_turns(scenario | {"phone_line": True}, 16000, no_voice))[0].audio

    assert phone.size == pytest.approx(wide.size, abs=4)  # still 16 kHz for the call, same length
    spectrum_wide = np.abs(np.fft.rfft(wide.astype(np.float64)))
    spectrum_phone = np.abs(np.fft.rfft(phone.astype(np.float64)))
    above_4k = slice(int(spectrum_wide.size * 4200 / 8000), None)
    assert spectrum_wide[above_4k].sum() > 20 * spectrum_phone[above_4k].sum()
    assert not np.array_equal(wide, phone)


async def test_mu_law_keeps_the_speech_band() -> None:
    rate = 16000
    tone = (8000 * np.sin(2 * np.pi * 1000 * np.arange(rate) / rate)).astype(np.int16)
    narrow, narrow_rate = through_phone_line(tone, rate)
    assert narrow_rate == 8000
    assert narrow.size == rate // 2
    assert _tone_level(narrow[400:-400], narrow_rate, 1000) == pytest.approx(8000, rel=0.05)


def test_saved_runs_pool_into_one_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = {c.name: c for c in load_corpus().conversations}
    first, second = list(corpus)[:2]
    part_one = Outcome(
        first,
        "sip",
        words_said=10,
        words_recalled=9,
        voice_to_voice_ms=[600.0, 700.0],
        transcript=[AgentTurn("Yeehaw!", "Sorry?", voice_to_voice_ms=650.0)],
        missed={0: ["yes"]},
    )
    part_two = Outcome(
        second, "sip", failures=["no booking"], words_said=5, words_recalled=5, voice_to_voice_ms=[1500.0]
    )
    rerun = Outcome(first, "sip", words_said=10, words_recalled=10, voice_to_voice_ms=[640.0])
    save_outcomes(tmp_path / "one.json", {"sip": [part_one]})
    save_outcomes(tmp_path / "two.json", {"sip": [part_two]})
    save_outcomes(tmp_path / "three.json", {"sip": [rerun]})

    pooled = load_outcomes([tmp_path / "one.json", tmp_path / "two.json"])["sip"]
    assert [o.name for o in pooled] == [first, second]
    assert pooled[0].transcript[0].heard == "Yeehaw!"
    assert pooled[0].missed == {0: ["yes"]}
    report("sip", pooled, corpus, show_transcripts=False, show_missed=True)
    printed = capsys.readouterr().out
    assert "task success                 1/2 (50.0 %)" in printed
    assert "word recall                  14/15 (93.3 %)" in printed
    assert "over 3 turns" in printed  # the caller's line, over both runs
    assert "p50 650 ms  p95 650 ms  over 1 records" in printed  # the agent's own turn records
    assert "'yes'" in printed

    replaced = load_outcomes([tmp_path / "one.json", tmp_path / "two.json", tmp_path / "three.json"])["sip"]
    assert [o.words_recalled for o in replaced] == [10, 5]
