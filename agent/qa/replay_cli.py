"""`python -m agent replay`: run voice scenarios (or one WAV) through the call pipeline and report pass/fail."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from agent.config import Settings
from agent.qa.corpus_judge import corpus_failures
from agent.qa.corpus_manifest import is_corpus_file, load_corpus, replay_scenario_of
from agent.qa.voice_replay import VOICE_FILE, VoiceResult, replay_scenario, write_report
from agent.runtime import open_voice


def load_voice_scenarios(target: Path) -> list[dict[str, Any]]:
    if target.suffix.lower() == ".wav":
        wav = target.resolve()
        return [
            {"name": target.stem, "band": "clean", "turns": [{"wav": str(wav)}], "expect": {"agents": None}}
        ]
    loaded = yaml.safe_load(target.read_text(encoding="utf-8"))
    # The caller corpus (fixtures/callers/corpus.yaml) is a manifest: one scenario per conversation.
    if is_corpus_file(loaded):
        return [replay_scenario_of(conversation) for conversation in load_corpus(target).conversations]
    scenarios: list[dict[str, Any]] = loaded
    return scenarios


def summarise(results: list[VoiceResult]) -> str:
    lines = []
    v2v = [t.voice_to_voice_ms for r in results for t in r.turns]
    for result in results:
        status = "PASS" if result.passed else "FAIL"
        lines.append(f"{status}  {result.name}  ({len(result.turns)} turns)")
        lines.extend(f"      - {failure}" for failure in result.failures)
        for turn in result.turns:
            lines.append(
                f"      caller: {turn.caller_text!r}  ->  agent ({turn.agent}, {turn.voice_to_voice_ms:.0f} ms): "
                f"{turn.agent_text[:90]!r}"
            )
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    if v2v:
        ordered = sorted(v2v)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        lines.append(
            f"voice-to-voice over {len(v2v)} turns: p50 {statistics.median(v2v):.0f} ms, p95 {p95:.0f} ms"
        )
    return "\n".join(lines)


async def run_replay(settings: Settings, target: Path, names: list[str], out: Path, realtime: bool) -> int:
    scenarios = [s for s in load_voice_scenarios(target) if not names or s["name"] in names]
    if not scenarios:
        print(f"no scenario matches {names} in {target}", file=sys.stderr)
        return 2
    # WAV paths in a scenario file are relative to the fixtures folder, or absolute.
    voice = await open_voice(settings.stt, settings.tts)
    results: list[VoiceResult] = []
    try:
        for index, scenario in enumerate(scenarios, start=1):
            started = time.perf_counter()
            print(f"[{index}/{len(scenarios)}] {scenario['name']} ...", end="", flush=True, file=sys.stderr)
            result = await replay_scenario(scenario, settings, voice, out_dir=out, realtime=realtime)
            result.failures += corpus_failures(scenario, result)
            results.append(result)
            verdict = "pass" if result.passed else "FAIL"
            print(f" {verdict} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    finally:
        await voice.aclose()
    report = write_report(results, out)
    summary = summarise(results)
    (out / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    print(summary)
    print(f"report: {report}")
    return 0 if all(r.passed for r in results) else 1


def replay_main(
    settings: Settings, target: str | None, names: list[str], out: str | None, realtime: bool
) -> int:
    path = Path(target) if target else VOICE_FILE
    out_dir = Path(out) if out else Path("test-artifacts") / time.strftime("replay-%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run_replay(settings, path, names, out_dir, realtime))
