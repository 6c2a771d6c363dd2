"""The caller corpus (fixtures/callers/corpus.yaml) on every channel: task success, word recall, turns, latency.

Usage: python -m benchmarks.caller_corpus --channel typed|replay|sip|all [--subset N] [--only NAME ...] [--gap S]
       [--transcripts] [--missed] [--slow N] [--phone-line] [--save FILE] [--keep DIR]
       python -m benchmarks.caller_corpus --pool FILE [FILE ...] [--subset N] [--only NAME ...] [--missed] [--slow N]

- typed: each turn's script text through POST /api/chat of a fresh agent (pinned clock, caller id).
- replay: the WAVs through the QA replay (VAD, Whisper, dialog, TTS on the virtual clock).
  With --phone-line every turn goes through 8 kHz mu-law first, as the SIP channel's callers send it: the
  phone band's share of SIP misses, measured offline in minutes instead of an hour of calls.
- sip: real baresip callers against the embedded SIP endpoint in a loopback-only network namespace (the run
  re-executes itself under `unshare --net` when it is not in one). baresip plays a file and cannot wait for the
  agent, so the silence after each turn is the time the agent needs to say its typed-channel reply to it (a
  barge-in turn starts `barge_in_after_s` into the reply); voice-to-voice is measured on the caller's line as
  benchmarks.phone_calls does: from the true end of the caller's speech to the first audible agent audio.
--save writes every conversation's outcome (each turn's words, latencies, misses) to a JSON file; --pool
reports saved runs as one (a later file's conversation replaces an earlier one's), so a corpus played in parts
gets one p95 over all its turns. --keep DIR keeps each SIP call's folder (the caller's dumps, the agent's
recording) under DIR.
Task success: the conversation's expected end state was reached (appointment rows, phrases heard).
Word recall: the script's caller words found, in order, in what the agent transcribed (lower case, no
punctuation, digits and number words folded, fillers such as "um" not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from agent.audio.resample import resample
from agent.audio.wav import read_wav, write_wav
from agent.config import Settings
from agent.log import configure_logging
from agent.qa.corpus_channels import PINNED_NOW, play_replay, play_typed
from agent.qa.corpus_judge import AgentTurn, Outcome, end_state_failures, score
from agent.qa.corpus_manifest import FIXTURES_DIR, Conversation, load_corpus
from agent.qa.dialog_scenarios import appointment_rows
from agent.runtime import open_voice
from benchmarks.brain_turns import percentile


def pick(conversations: list[Conversation], only: list[str], subset: int | None) -> list[Conversation]:
    """The named conversations, or an even spread of `subset` of them, or all."""
    chosen = [c for c in conversations if not only or c.name in only]
    if subset and subset < len(chosen):
        chosen = [chosen[len(chosen) * i // subset] for i in range(subset)]
    return chosen


async def typed_channel(conversations: list[Conversation]) -> list[Outcome]:
    outcomes = []
    for conversation in conversations:
        outcomes.append(await play_typed(conversation))
        _progress(outcomes[-1])
    return outcomes


async def replay_channel(
    conversations: list[Conversation], out_dir: Path, log_level: str = "error", phone_line: bool = False
) -> list[Outcome]:
    settings = Settings(
        escalation_min_s=0.1,
        escalation_max_s=0.3,
        escalation_seed=3,
        log_level=log_level,
    )
    voice = await open_voice(settings.stt, settings.tts)
    outcomes = []
    try:
        for conversation in conversations:
            outcomes.append(
                await play_replay(conversation, settings, voice, out_dir=out_dir, phone_line=phone_line)
            )
            _progress(outcomes[-1])
    finally:
        await voice.aclose()
    return outcomes


READ_CHARS_PER_S = 13.0  # hibari reads 14-16 characters a second; a little slower, to be safe
GREETING_S = 7.5  # the caller listens to the greeting before the first turn


def sip_gaps(conversation: Conversation, typed: Outcome | None, default_gap_s: float) -> list[float]:
    """Silence after each caller turn: the time the agent needs to say its typed-channel reply to that turn
    (2.5 s + its length read at READ_CHARS_PER_S, at least 4 s), `default_gap_s` without one; before a barge-in
    turn, just long enough for the agent's reply to have been playing `barge_in_after_s`."""
    gaps = []
    for index, turn in enumerate(conversation.turns):
        reply = typed.transcript[index].reply if typed and index < len(typed.transcript) else ""
        gap = max(4.0, 2.5 + len(reply) / READ_CHARS_PER_S) if reply else default_gap_s
        following = conversation.turns[index + 1] if index + 1 < len(conversation.turns) else turn
        if following is not turn and following.barge_in_after_s is not None:
            gap = 0.9 + following.barge_in_after_s  # the reply starts about 0.9 s after the caller stops
        gaps.append(gap)
    return gaps


async def sip_call(folder: Path, conversation: Conversation, gaps: list[float]) -> list[float]:
    """Place the call (baresip plays the turns with `gaps` of silence after each) and measure, on the caller's
    line, each turn's voice-to-voice: true end of its speech to the first audible agent audio after it."""
    from benchmarks.phone_calls import (
        AUDIBLE_RMS,
        FRAME,
        call_with,
        first_audible_frame,
        frame_rms,
        spoken_end,
    )

    pieces: list[np.ndarray] = [np.zeros(int(8000 * GREETING_S), np.int16)]
    speech_ends: list[int] = []
    for turn, gap in zip(conversation.turns, gaps, strict=True):
        samples, rate = read_wav(FIXTURES_DIR / turn.wav)
        audio = resample(samples, rate, 8000)
        speech_ends.append(sum(piece.size for piece in pieces) + spoken_end(audio))
        pieces += [audio, np.zeros(int(8000 * gap), np.int16)]
    wav = folder / "caller.wav"
    write_wav(wav, np.concatenate(pieces), 8000)
    seconds = int(sum(piece.size for piece in pieces) / 8000) + 2
    caller_id = re.sub(r"[^0-9+]", "", conversation.caller_phone or "") or "anonymous"
    await call_with(folder, "caller", wav, seconds, caller_id=caller_id)
    heard, _ = read_wav(sorted((folder / "caller").glob("dump-*-dec.wav"))[0])
    sent, _ = read_wav(sorted((folder / "caller").glob("dump-*-enc.wav"))[0])
    lag = max(0, sent.size - heard.size)  # the receive dump starts when the agent's first packet lands
    loudness = frame_rms(heard)
    latencies = []
    for end in speech_ends:
        end_frame = max(0, (end - lag) // FRAME)
        if (loudness[max(0, end_frame - 10) : end_frame] > AUDIBLE_RMS).any():
            continue  # the agent was still talking when the caller stopped: not a turn to time
        onset = first_audible_frame(heard, end_frame)
        if onset is not None:
            latencies.append((onset - end_frame) * 20.0)
    return latencies


async def sip_conversation(
    work: Path, conversation: Conversation, gap_s: float, typed: Outcome | None = None
) -> Outcome:
    """One real call: baresip plays the turns to the embedded endpoint; judged by rows, words and latency."""
    from agent.server.app import create_app
    from agent.server.keys import CALL_LOG
    from benchmarks.phone_calls import bench_settings

    folder = work / conversation.name
    folder.mkdir(parents=True)
    database = folder / "agent.db"
    settings = bench_settings(folder, database_path=database, recordings_path=folder / "recordings")
    app = create_app(settings, clock=lambda: PINNED_NOW)
    runner = web.AppRunner(app)
    await runner.setup()
    outcome = Outcome(conversation.name, "sip")
    try:
        gaps = sip_gaps(conversation, typed, gap_s)
        outcome.voice_to_voice_ms = await sip_call(folder, conversation, gaps)
        for _ in range(100):  # the agent closes its call record a moment after the caller's phone hangs up
            records = await app[CALL_LOG].recent(limit=5)
            if records and not any(record.active for record in records):
                break
            await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
    turns: list[dict[str, Any]] = [t for record in records for t in record.turns if t.get("caller_text")]
    outcome.transcript = [
        AgentTurn(
            str(t["caller_text"]),
            str(t.get("agent_text", "")),
            voice_to_voice_ms=t.get("voice_to_voice_ms"),
            endpoint_wait_ms=t.get("endpoint_wait_ms"),
            stt_ms=t.get("stt_ms"),
        )
        for t in turns
    ]
    everything = " ".join(turn.reply for turn in outcome.transcript)
    outcome.failures = end_state_failures(conversation, everything, appointment_rows(database))
    if not records:
        outcome.failures.insert(0, "no call was recorded")
    score(conversation, outcome)
    return outcome


async def sip_channel(
    conversations: list[Conversation], gap_s: float, keep: Path | None = None
) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for conversation in conversations:
            typed = await play_typed(conversation)  # its replies time the caller's silences
            outcomes.append(await sip_conversation(work, conversation, gap_s, typed))
            _progress(outcomes[-1])
    return outcomes


def save_outcomes(path: Path, results: dict[str, list[Outcome]]) -> None:
    """Every outcome of the run, by channel, as JSON `--pool` reads back."""
    saved = {channel: [asdict(outcome) for outcome in outcomes] for channel, outcomes in results.items()}
    path.write_text(json.dumps(saved, indent=1))


def load_outcomes(paths: list[Path]) -> dict[str, list[Outcome]]:
    """Saved runs as one: by channel, a later file's conversation replacing an earlier one's."""
    pooled: dict[str, dict[str, Outcome]] = {}
    for path in paths:
        for channel, saved in json.loads(path.read_text()).items():
            for entry in saved:
                outcome = Outcome(**entry)
                outcome.transcript = [AgentTurn(**turn) for turn in entry["transcript"]]
                outcome.missed = {int(index): words for index, words in entry["missed"].items()}
                pooled.setdefault(channel, {})[outcome.name] = outcome
    return {channel: list(by_name.values()) for channel, by_name in pooled.items()}


def _progress(outcome: Outcome) -> None:
    verdict = "pass" if outcome.passed else f"FAIL: {outcome.failures[0][:110]}"
    print(f"  [{outcome.channel}] {outcome.name:40s} {verdict}", flush=True)


def report(
    channel: str,
    outcomes: list[Outcome],
    conversations: dict[str, Conversation],
    show_transcripts: bool,
    show_missed: bool = False,
    show_slow: int = 0,
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
    if channel == "replay":
        prepared, unsaid = sum(o.answers_prepared for o in outcomes), sum(o.prepared_unsaid for o in outcomes)
        print(f"  answers prepared in the silence  {prepared} said, {unsaid} dropped (the caller went on)")
    where = "the agent's turn records" if channel == "replay" else "the caller's line"
    _print_percentiles(where, [v for o in outcomes for v in o.voice_to_voice_ms], "turns")
    if channel == "sip":
        records = [t.voice_to_voice_ms for o in outcomes for t in o.transcript]
        _print_percentiles("the agent's turn records", [v for v in records if v is not None], "records")
    if channel != "typed":
        for label, key in (("band", "band"), ("voice", "voice")):
            groups: dict[str, list[Outcome]] = {}
            for outcome in outcomes:
                groups.setdefault(getattr(conversations[outcome.name], key), []).append(outcome)
            shares = ", ".join(f"{k} {sum(o.passed for o in v)}/{len(v)}" for k, v in sorted(groups.items()))
            print(f"  passed by {label:<19}{shares}")
    if show_missed and channel != "typed":
        print("  caller words not heard, by caller turn:")
        for outcome in outcomes:
            for index, words in sorted(outcome.missed.items()):
                script = conversations[outcome.name].turns[index].text
                print(f"    {outcome.name}#{index + 1}: {' '.join(words)!r} of {script!r}")
            if outcome.missed:
                print(f"      heard: {' | '.join(turn.heard for turn in outcome.transcript)}")
    if show_slow and channel != "typed":
        print_slowest(outcomes, show_slow)
    failing = [o for o in outcomes if not o.passed]
    if failing:
        print(f"  failing conversations ({len(failing)}):")
        for outcome in failing:
            print(f"    {outcome.name:40s} {outcome.failures[0][:160]}")
            if show_transcripts:
                for turn in outcome.transcript:
                    print(f"        caller: {turn.heard!r}\n        agent:  {turn.reply[:150]!r}")


def _print_percentiles(where: str, latencies: list[float], counted: str) -> None:
    """One voice-to-voice line: p50 and p95 of `latencies`, if any."""
    if latencies:
        print(
            f"  voice-to-voice ({where})  p50 {percentile(latencies, 0.5):.0f} ms  "
            f"p95 {percentile(latencies, 0.95):.0f} ms  over {len(latencies)} {counted}"
        )


def print_slowest(outcomes: list[Outcome], count: int) -> None:
    """The `count` slowest agent turn records, with the words heard and where the time went."""
    records = [(o.name, t) for o in outcomes for t in o.transcript if t.voice_to_voice_ms is not None]
    records.sort(key=lambda record: record[1].voice_to_voice_ms or 0.0, reverse=True)
    print(f"  the {min(count, len(records))} slowest agent turn records (silence waited, Whisper, total):")
    for name, turn in records[:count]:
        print(
            f"    {turn.voice_to_voice_ms or 0:5.0f} ms  wait {turn.endpoint_wait_ms or 0:5.0f}  "
            f"stt {turn.stt_ms or 0:5.0f}  {name}: {turn.heard[:90]!r}"
        )


async def bench(args: argparse.Namespace) -> None:
    conversations = pick(list(load_corpus().conversations), args.only, args.subset)
    if args.pool:  # --only / --subset pick the same conversations from saved runs
        chosen = {conversation.name: conversation for conversation in conversations}
        for channel, saved in load_outcomes(args.pool).items():
            picked = [outcome for outcome in saved if outcome.name in chosen]
            report(channel, picked, chosen, args.transcripts, args.missed, args.slow)
        return
    channels = ["typed", "replay", "sip"] if args.channel == "all" else [args.channel]
    results: dict[str, list[Outcome]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for channel in channels:
            print(f"{channel}: {len(conversations)} conversations", flush=True)
            if channel == "typed":
                results[channel] = await typed_channel(conversations)
            elif channel == "replay":
                results[channel] = await replay_channel(
                    conversations, Path(tmp), args.log_level, args.phone_line
                )
            else:
                results[channel] = await sip_channel(conversations, args.gap, args.keep)
    if args.save:
        save_outcomes(args.save, results)
    by_name = {conversation.name: conversation for conversation in conversations}
    for channel, outcomes in results.items():
        report(channel, outcomes, by_name, args.transcripts, args.missed, args.slow)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channel", choices=["typed", "replay", "sip", "all"], default="typed")
    parser.add_argument("--subset", type=int, default=None, help="an even spread of N conversations")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="one conversation")
    parser.add_argument("--transcripts", action="store_true", help="print what failing conversations said")
    parser.add_argument("--missed", action="store_true", help="print each caller turn's words not heard")
    parser.add_argument("--slow", type=int, default=0, metavar="N", help="print the N slowest agent turns")
    parser.add_argument(
        "--log-level", default="error", help="the agent's log level (info shows second opinions)"
    )
    parser.add_argument(
        "--gap", type=float, default=12.0, help="sip: silence after a turn without a typed reply"
    )
    parser.add_argument(
        "--phone-line", action="store_true", help="replay: every turn through 8 kHz mu-law first"
    )
    parser.add_argument("--save", type=Path, metavar="FILE", help="write the outcomes to FILE (JSON)")
    parser.add_argument(
        "--pool", type=Path, nargs="+", metavar="FILE", help="report saved runs as one, playing nothing"
    )
    parser.add_argument("--keep", type=Path, metavar="DIR", help="sip: keep each call's folder under DIR")
    args = parser.parse_args()
    if args.channel in ("sip", "all") and not args.pool:
        from benchmarks.phone_calls import enter_loopback_namespace

        enter_loopback_namespace("benchmarks.caller_corpus")
    configure_logging(args.log_level)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
