"""Each caller-corpus turn decoded alone by one Whisper model and encoder margin: word recall, phone numbers
heard whole and right, and decode time.

    python -m benchmarks.stt_turns --model tiny.en --margin 7 [--margin 3] [--numbers-only] [--threads 1]
    python -m benchmarks.stt_turns --short 0.8 [--hint]     # the short answers, with and without the prompt

What the second opinion and the fitted encoder window (`agent/speech/whisper_window.py`) trade: a smaller
margin is a cheaper encoder pass; too small and Whisper repeats itself or drops the end of the audio. The
audio is the turn's WAV as the caller's phone sends it (8 kHz phone band resampled to 16 kHz), with no VAD and
no pipeline around it: what the model hears best, not what a call gets.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agent.audio.level import rms
from agent.audio.resample import resample
from agent.audio.wav import read_wav
from agent.config import Settings
from agent.dialog.nlu.contacts import parse_phone
from agent.log import configure_logging
from agent.qa.corpus_judge import align, recall_words
from agent.qa.corpus_manifest import CorpusTurn, load_corpus
from agent.qa.voice_replay import EventLog
from agent.runtime import open_runtime
from agent.speech.stt import WhisperName, WhisperSTT
from benchmarks.brain_turns import percentile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


async def dealership_hint() -> str:
    """The Whisper prompt a call uses: the seeded dealership's name, services, makes and models."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings().replace(database_path=Path(tmp) / "hint.db")
        async with open_runtime(settings, events=EventLog()) as runtime:
            return runtime.dialog.stt_hint


def sound_s(wav: Path) -> float:
    """From the first to the last 20 ms frame over the VAD's energy threshold (the agent's setting)."""
    samples, rate = read_wav(wav)
    audio = resample(samples, rate, 16000)
    threshold = Settings().voice.vad_energy_threshold
    loud = [i for i in range(audio.size // 320) if rms(audio[i * 320 : (i + 1) * 320]) >= threshold]
    return (loud[-1] - loud[0] + 1) * 0.02 if loud else 0.0


async def decode_all(
    model: WhisperName, margin: float, threads: int, turns: list[CorpusTurn], hint: str | None
) -> None:
    stt = WhisperSTT(model=model, threads=threads, workers=1, window_margin_s=margin or None)
    await stt.load()
    said = recalled = numbers = numbers_right = 0
    times: list[float] = []
    wrong: list[str] = []
    try:
        for turn in turns:
            samples, rate = read_wav(FIXTURES / turn.wav)
            started = time.perf_counter()
            heard = await stt.transcribe(resample(samples, rate, 16000), hint=hint)
            times.append((time.perf_counter() - started) * 1000)
            reference = recall_words(turn.text)
            said += len(reference)
            recalled += len(align(reference, recall_words(heard.text)))
            expected = parse_phone(turn.text)
            if expected is not None:
                numbers += 1
                if parse_phone(heard.text) == expected:
                    numbers_right += 1
                else:
                    wrong.append(f"{turn.wav}: {heard.text!r}")
    finally:
        await stt.aclose()
    print(
        f"{model:8s} margin {margin:4.1f} s  threads {threads}  hint {'yes' if hint else 'no '}  turns {len(turns):3d}  "
        f"word recall {100 * recalled / max(1, said):5.1f} %  numbers right {numbers_right}/{numbers}  "
        f"decode p50 {statistics.median(times):4.0f} ms  p95 {percentile(times, 0.95):4.0f} ms",
        flush=True,
    )
    for line in wrong:
        print(f"    number wrong: {line}")


async def bench(args: argparse.Namespace) -> None:
    turns = load_corpus().turns
    if args.numbers_only:
        turns = [turn for turn in turns if parse_phone(turn.text) is not None]
    if args.short:
        turns = [turn for turn in turns if sound_s(FIXTURES / turn.wav) < args.short]
    hint = await dealership_hint() if args.hint else None
    for margin in args.margin or [7.0]:
        await decode_all(args.model, margin, args.threads, turns, hint)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=["tiny.en", "base"], default="tiny.en")
    parser.add_argument("--margin", type=float, action="append", help="encoder margin in seconds (0: 30 s)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hint", action="store_true", help="with the dealership's Whisper prompt, as calls")
    parser.add_argument("--numbers-only", action="store_true", help="only the turns with a phone number")
    parser.add_argument(
        "--short", type=float, default=None, metavar="S", help="only turns with under S s of sound"
    )
    args = parser.parse_args()
    configure_logging("error")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
