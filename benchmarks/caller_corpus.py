"""The caller corpus (fixtures/callers/corpus.yaml) on every channel: task success, word recall, turns, latency.

Usage: python -m benchmarks.caller_corpus --channel typed|replay|sip|all [--subset N] [--only NAME ...] [--gap S]
       [--transcripts]

- typed: each turn's script text through POST /api/chat of a fresh agent (pinned clock, caller id).
- replay: the WAVs through the QA replay (VAD, Whisper, dialog, TTS on the virtual clock).
- sip: real baresip callers against the embedded SIP endpoint in a loopback-only network namespace (the run
  re-executes itself under `unshare --net` when it is not in one); the caller plays its turns with `--gap`
  seconds of silence after each (a barge-in turn is played after the gap too: baresip cannot wait for the
  agent to start talking), and voice-to-voice is measured on the caller's line as benchmarks.phone_calls does.
Task success: the conversation's expected end state was reached (appointment rows, phrases heard).
Word recall: the script's caller words found, in order, in what the agent transcribed (lower case, no
punctuation, digits and number words folded, fillers such as "um" not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.config import Settings
from agent.log import configure_logging
from agent.qa.corpus_channels import PINNED_NOW, play_replay, play_typed
from agent.qa.corpus_judge import AgentTurn, Outcome, end_state_failures, score
from agent.qa.corpus_manifest import Conversation, load_corpus, replay_scenario_of
from agent.qa.dialog_scenarios import appointment_rows
from agent.runtime import open_voice
from benchmarks.brain_turns import percentile


def pick(conversations: list[Conversation], only: list[str], subset: int | None) -> list[Conversation]:
    """The named conversations, or an even spread of `subset` of them (every k-th), or all."""
    chosen = [c for c in conversations if not only or c.name in only]
    if subset and subset < len(chosen):
        step = math.ceil(len(chosen) / subset)
        chosen = chosen[::step][:subset]
    return chosen


async def typed_channel(conversations: list[Conversation]) -> list[Outcome]:
    outcomes = []
    for conversation in conversations:
        outcomes.append(await play_typed(conversation))
        _progress(outcomes[-1])
    return outcomes


async def replay_channel(conversations: list[Conversation], out_dir: Path) -> list[Outcome]:
    settings = Settings(escalation_min_s=0.1, escalation_max_s=0.3, escalation_seed=3, log_level="error")
    voice = await open_voice(settings.stt, settings.tts)
    outcomes = []
    try:
        for conversation in conversations:
            outcomes.append(await play_replay(conversation, settings, voice, out_dir=out_dir))
            _progress(outcomes[-1])
    finally:
        await voice.aclose()
    return outcomes


async def sip_conversation(work: Path, conversation: Conversation, gap_s: float) -> Outcome:
    """One real call: baresip plays the turns to the embedded endpoint; judged by rows, words and latency."""
    from agent.server.app import create_app
    from agent.server.keys import CALL_LOG
    from benchmarks.phone_calls import bench_settings, scenario_turns

    folder = work / conversation.name
    folder.mkdir(parents=True)
    database = folder / "agent.db"
    app = create_app(
        bench_settings(folder, database_path=database, recordings_path=folder / "recordings"),
        clock=lambda: PINNED_NOW,
    )
    runner = web.AppRunner(app)
    await runner.setup()
    outcome = Outcome(conversation.name, "sip")
    try:
        outcome.voice_to_voice_ms = await scenario_turns(folder, replay_scenario_of(conversation), gap_s)
        for _ in range(100):  # the agent closes its call record a moment after the caller's phone hangs up
            records = await app[CALL_LOG].recent(limit=5)
            if records and not any(record.active for record in records):
                break
            await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
    turns: list[dict[str, Any]] = [t for record in records for t in record.turns if t.get("caller_text")]
    outcome.transcript = [AgentTurn(str(t["caller_text"]), str(t.get("agent_text", ""))) for t in turns]
    everything = " ".join(turn.reply for turn in outcome.transcript)
    outcome.failures = end_state_failures(conversation, everything, appointment_rows(database))
    if not records:
        outcome.failures.insert(0, "no call was recorded")
    score(conversation, outcome)
    return outcome


async def sip_channel(conversations: list[Conversation], gap_s: float) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for conversation in conversations:
            outcomes.append(await sip_conversation(Path(tmp), conversation, gap_s))
            _progress(outcomes[-1])
    return outcomes


def _progress(outcome: Outcome) -> None:
    verdict = "pass" if outcome.passed else f"FAIL: {outcome.failures[0][:110]}"
    print(f"  [{outcome.channel}] {outcome.name:40s} {verdict}", flush=True)


def report(
    channel: str, outcomes: list[Outcome], conversations: dict[str, Conversation], show_transcripts: bool
) -> None:
    """The channel's figures, then each failing conversation with the first thing that went wrong."""
    passed = sum(o.passed for o in outcomes)
    said = sum(o.words_said for o in outcomes)
    recalled = sum(o.words_recalled for o in outcomes)
    to_booking = [o.turns_to_booking for o in outcomes if o.turns_to_booking is not None]
    print(
        f"\n== {channel}: {len(outcomes)} conversations, {sum(len(o.transcript) for o in outcomes)} agent turns"
    )
    print(
        f"  task success                 {passed}/{len(outcomes)} ({100 * passed / max(1, len(outcomes)):.1f} %)"
    )
    if channel == "typed":
        print(
            f"  word recall                  100 % by definition (the script's own words are sent; {said} words)"
        )
    else:
        print(f"  word recall                  {recalled}/{said} ({100 * recalled / max(1, said):.1f} %)")
    median = f"{statistics.median(to_booking):.1f}" if to_booking else "n/a"
    print(f"  caller turns to a booking    median {median} over {len(to_booking)} completed bookings")
    print(f"  turns answered twice         {sum(o.answered_twice for o in outcomes)}")
    latencies = [v for o in outcomes for v in o.voice_to_voice_ms]
    if latencies:
        where = "the agent's turn records" if channel == "replay" else "the caller's line"
        print(
            f"  voice-to-voice ({where})  p50 {percentile(latencies, 0.5):.0f} ms  "
            f"p95 {percentile(latencies, 0.95):.0f} ms  over {len(latencies)} turns"
        )
    if channel != "typed":
        for label, key in (("band", "band"), ("voice", "voice")):
            groups: dict[str, list[Outcome]] = {}
            for outcome in outcomes:
                groups.setdefault(getattr(conversations[outcome.name], key), []).append(outcome)
            shares = ", ".join(f"{k} {sum(o.passed for o in v)}/{len(v)}" for k, v in sorted(groups.items()))
            print(f"  passed by {label:<19}{shares}")
    failing = [o for o in outcomes if not o.passed]
    if failing:
        print(f"  failing conversations ({len(failing)}):")
        for outcome in failing:
            print(f"    {outcome.name:40s} {outcome.failures[0][:160]}")
            if show_transcripts:
                for turn in outcome.transcript:
                    print(f"        caller: {turn.heard!r}\n        agent:  {turn.reply[:150]!r}")


async def bench(args: argparse.Namespace) -> None:
    conversations = pick(list(load_corpus().conversations), args.only, args.subset)
    channels = ["typed", "replay", "sip"] if args.channel == "all" else [args.channel]
    results: dict[str, list[Outcome]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for channel in channels:
            print(f"{channel}: {len(conversations)} conversations", flush=True)
            if channel == "typed":
                results[channel] = await typed_channel(conversations)
            elif channel == "replay":
                results[channel] = await replay_channel(conversations, Path(tmp))
            else:
                results[channel] = await sip_channel(conversations, args.gap)
    by_name = {conversation.name: conversation for conversation in conversations}
    for channel, outcomes in results.items():
        report(channel, outcomes, by_name, args.transcripts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channel", choices=["typed", "replay", "sip", "all"], default="typed")
    parser.add_argument("--subset", type=int, default=None, help="an even spread of N conversations")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="one conversation")
    parser.add_argument("--transcripts", action="store_true", help="print what failing conversations said")
    parser.add_argument("--gap", type=float, default=12.0, help="sip: silence after each caller turn (s)")
    args = parser.parse_args()
    if args.channel in ("sip", "all"):
        from benchmarks.phone_calls import enter_loopback_namespace

        enter_loopback_namespace("benchmarks.caller_corpus")
    configure_logging("error")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
