"""End of turn on the caller corpus: how often a pause inside a sentence closes the turn, and what waiting costs.

Usage: python -m benchmarks.turn_end [--smart-turn PATH/smart-turn-v3.2-cpu.onnx]

Every caller turn WAV of fixtures/callers/corpus.yaml goes through the call's VAD; at every end of speech the
words so far are decoded (Whisper tiny.en on a fitted window, as a call does). An end followed by more speech in
the same turn is a pause inside it; the last end is the turn's end. For each end-of-turn policy it prints the
pauses it would have closed the turn at (the caller then goes on, and the continuation is joined) and the
silence it waits at real ends (which adds to voice-to-voice). With --smart-turn, the Smart Turn v3.2 model
(BSD-2-Clause; the ONNX file ships inside the `pipecat-ai` wheel: `pip download --no-deps pipecat-ai==1.14.0`)
is tried in combination with the text rules.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.audio.frames import Reframer
from agent.audio.resample import resample
from agent.audio.vad import SpeechEnded, SpeechStarted, VadConfig, VoiceActivityDetector
from agent.audio.wav import read_wav
from agent.calls.turn_taking import TurnTakingConfig, required_silence
from agent.qa.corpus_manifest import FIXTURES_DIR, load_corpus
from agent.speech.stt import WhisperSTT

RATE = 16000


@dataclass(frozen=True)
class End:
    text: str
    final: bool
    gap_s: float | None  # silence until the caller went on (a pause inside the turn), None at the turn's end
    complete_p: float | None = None


def speech_ends(samples: np.ndarray) -> list[tuple[float, float | None]]:
    """(end of speech, silence until speech resumed or None) for each end the VAD finds."""
    vad, framer = VoiceActivityDetector(VadConfig()), Reframer(RATE)
    starts, ends = [], []
    for frame in framer.push(samples):
        event = vad.process(frame)
        if isinstance(event, SpeechStarted):
            starts.append(event.at_s)
        elif isinstance(event, SpeechEnded):
            ends.append(event.at_s)
    return [(end, next((s - end for s in starts if s > end), None)) for end in ends]


class SmartTurn:
    """Smart Turn v3.2 on onnxruntime: the last 8 s, Whisper log-mel features, one probability out."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort
        from faster_whisper.feature_extractor import FeatureExtractor  # type: ignore[import-untyped]

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), sess_options=options)
        self._features = FeatureExtractor(feature_size=80, chunk_length=8)

    def complete(self, audio: np.ndarray) -> float:
        window = audio[-8 * RATE :].astype(np.float32) / 32768.0
        window = np.pad(window, (8 * RATE - window.size, 0))
        window = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
        features = self._features(window, padding=0)[np.newaxis].astype(np.float32)
        return float(np.asarray(self._session.run(None, {"input_features": features})[0]).reshape(-1)[0])


async def collect(smart: SmartTurn | None) -> list[End]:
    stt = WhisperSTT(model="tiny.en", window_margin_s=7.0)
    await stt.load()
    found: list[End] = []
    for conversation in load_corpus().conversations:
        for turn in conversation.turns:
            samples, rate = read_wav(FIXTURES_DIR / turn.wav)
            samples = resample(samples, rate, RATE) if rate != RATE else samples
            ends = speech_ends(samples)
            for index, (end, gap) in enumerate(ends):
                so_far = samples[: int(end * RATE) + RATE // 10]
                text = (await stt.transcribe(so_far)).text
                probability = smart.complete(so_far) if smart is not None else None
                found.append(End(text, index == len(ends) - 1, gap, probability))
    await stt.aclose()
    return found


def report(name: str, ends: list[End], wait: Callable[[End], float]) -> None:
    pauses = [e for e in ends if not e.final and e.gap_s is not None]
    closed = sum(1 for e in pauses if wait(e) < (e.gap_s or 0.0))
    waits = sorted(wait(e) for e in ends if e.final)
    print(
        f"{name:44s} closed at {closed}/{len(pauses)} pauses inside a turn; wait at the turn's end "
        f"mean {statistics.mean(waits):.2f} s, p95 {waits[int(0.95 * (len(waits) - 1))]:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smart-turn", type=Path, help="smart-turn-v3.2-cpu.onnx from the pipecat-ai wheel")
    args = parser.parse_args()
    smart = SmartTurn(args.smart_turn) if args.smart_turn else None
    ends = asyncio.run(collect(smart))
    config = TurnTakingConfig()

    def text_rules(e: End) -> float:
        return required_silence(config, e.text, None)

    print(
        f"{len(ends)} ends of speech: {sum(e.final for e in ends)} turn ends, {sum(not e.final for e in ends)} pauses"
    )
    report("text rules (what a call does)", ends, text_rules)
    if smart is None:
        return
    for low in (0.1, 0.2):
        for longer in (0.7, 0.9):

            def combined(e: End, low: float = low, longer: float = longer) -> float:
                unsure = e.complete_p is not None and e.complete_p < low
                return max(text_rules(e), longer) if unsure else text_rules(e)

            report(f"text rules + Smart Turn < {low} waits {longer} s", ends, combined)


if __name__ == "__main__":
    main()
