"""Voice-to-voice latency per stage and Whisper word error rate over the voice fixtures (clean and phone band).

Usage: python -m benchmarks.voice_latency [--brain offline|llm] [--llm-url URL] [--scenario NAME ...]
Voice-to-voice is measured from the true end of the caller's speech to the first agent audio; on the
virtual clock it is max(end-of-turn silence, VAD detection + STT) + dialog + TTS first audio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path
from typing import Any

import yaml

from agent.config import Settings
from agent.log import configure_logging
from agent.qa.voice_replay import VOICE_FILE, VoiceResult, replay_scenario
from agent.qa.word_error import word_error_rate
from agent.runtime import open_voice
from benchmarks.brain_turns import percentile

STAGES = ("endpoint_wait_ms", "stt_ms", "brain_ms", "tts_first_audio_ms", "voice_to_voice_ms")


def table(results: list[tuple[dict[str, Any], VoiceResult]], band: str | None) -> None:
    turns = [t for s, r in results for t in r.turns if band is None or s.get("band", "clean") == band]
    if not turns:
        return
    label = band or "all"
    print(f"\n{label}: {len(turns)} turns")
    for stage in STAGES:
        values = [getattr(t, stage) for t in turns]
        print(
            f"  {stage:<20} p50 {percentile(values, 0.5):7.0f}   p95 {percentile(values, 0.95):7.0f}   "
            f"mean {statistics.fmean(values):7.0f}"
        )
    said = [
        " ".join(x.get("text", "") for x in s["turns"])
        for s, r in results
        if (band is None or s.get("band", "clean") == band) and len(r.turns) == len(s["turns"])
    ]
    heard = [
        " ".join(t.caller_text for t in r.turns)
        for s, r in results
        if (band is None or s.get("band", "clean") == band) and len(r.turns) == len(s["turns"])
    ]
    if said:
        errors = [word_error_rate(a, b) * len(a.split()) for a, b in zip(said, heard, strict=True)]
        total_words = sum(len(a.split()) for a in said)
        print(
            f"  STT word error rate  {100 * sum(errors) / max(1, total_words):.1f} % over {total_words} words"
        )


async def bench(brain: str, llm_url: str, names: list[str]) -> None:
    scenarios = [s for s in yaml.safe_load(VOICE_FILE.read_text()) if not names or s["name"] in names]
    base = Settings(
        brain=brain, llm_base_url=llm_url, escalation_min_s=0.1, escalation_max_s=0.3, log_level="error"
    )
    voice = await open_voice(base.stt, base.tts)
    results: list[tuple[dict[str, Any], VoiceResult]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for scenario in scenarios:
                settings = base.replace(database_path=Path(tmp) / f"{scenario['name']}.db")
                result = await replay_scenario(scenario, settings, voice, out_dir=Path(tmp) / "audio")
                results.append((scenario, result))
                print(f"{'pass' if result.passed else 'FAIL'} {scenario['name']}", flush=True)
    finally:
        await voice.aclose()
    print(f"\nbrain={brain}; {sum(r.passed for _, r in results)}/{len(results)} scenarios passed")
    for band in (None, "clean", "phone"):
        table(results, band)
    slowest(results, 6)


def slowest(results: list[tuple[dict[str, Any], VoiceResult]], count: int) -> None:
    """The turns behind the p95: what the caller said and where the time went."""
    turns = sorted(
        ((s["name"], t) for s, r in results for t in r.turns), key=lambda x: -x[1].voice_to_voice_ms
    )
    print(f"\nslowest {count} turns (wait / stt / dialog / tts -> voice-to-voice, ms):")
    for name, t in turns[:count]:
        print(
            f"  {t.endpoint_wait_ms:5.0f} {t.stt_ms:5.0f} {t.brain_ms:5.0f} {t.tts_first_audio_ms:5.0f} -> "
            f"{t.voice_to_voice_ms:5.0f}  {name}: {t.caller_text[:60]!r}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brain", choices=["offline", "llm"], default="offline")
    parser.add_argument("--llm-url", default="http://127.0.0.1:8765/v1")
    parser.add_argument("--scenario", action="append", default=[])
    args = parser.parse_args()
    configure_logging("error")
    asyncio.run(bench(args.brain, args.llm_url, args.scenario))


if __name__ == "__main__":
    main()
