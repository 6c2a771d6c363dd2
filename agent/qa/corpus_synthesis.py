"""Synthesise the caller corpus WAVs (fixtures/callers/audio) from its manifest, reproducibly, byte for byte.

Usage: python -m agent.qa.corpus_synthesis [--out DIR] [--only NAME ...]   (scripts/make-corpus runs it)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agent.qa.corpus_manifest import (
    BAND_RATES,
    CORPUS_FILE,
    FIXTURES_DIR,
    Band,
    CorpusManifest,
    CorpusTurn,
    load_corpus,
)
from agent.qa.corpus_voices import SPEECH_RATE, CallerVoice, Float64Array, open_voice
from agent.qa.fixture_synthesis import (
    BABBLE_LINES,
    BABBLE_TALKERS,
    LEAD_S,
    PEAK_CEILING,
    TRAIL_S,
    active_rms,
    normalise,
    pink_noise,
    to_band,
    trim_silence,
    write_turn,
)

# The cafe chatter under the babble turns: these voices, reversed in time so no word is intelligible.
BABBLE_VOICES = ("joe", "kumo", "tebukuro", "gongitsune", "nezumi", "joe")


class CorpusSynthesizer:
    """Opens each caller voice once and renders turns: segments, pauses, band, level, padding, noise."""

    def __init__(self, manifest: CorpusManifest) -> None:
        self._manifest = manifest
        self._voices: dict[str, CallerVoice] = {}
        self._babble: dict[Band, Float64Array] = {}

    def voice(self, name: str) -> CallerVoice:
        if name not in self._voices:
            self._voices[name] = open_voice(self._manifest.voices[name], self._manifest.rates)
        return self._voices[name]

    def speech(self, turn: CorpusTurn) -> Float64Array:
        """The turn's words at SPEECH_RATE: each segment said on its own, trimmed, then its pause of silence."""
        parts: list[Float64Array] = []
        for segment in turn.segments:
            said = trim_silence(self.voice(turn.voice).speak(segment.text, turn.rate), SPEECH_RATE)
            if said.size == 0:
                raise RuntimeError(f"{turn.wav}: no audio for {segment.text!r}")
            parts += [said, np.zeros(round(segment.pause_after_s * SPEECH_RATE))]
        return np.concatenate(parts)

    def babble(self, band: Band) -> Float64Array:
        """A unit-RMS bed of reversed chatter in the corpus voices, at the band's rate."""
        if band not in self._babble:
            lines = [
                to_band(self.voice(name).speak(line, "normal")[::-1].copy(), band)
                for name, line in zip(BABBLE_VOICES, BABBLE_LINES, strict=True)
            ]
            bed = np.concatenate(lines)
            self._babble[band] = bed / math.sqrt(float(np.mean(np.square(bed))))
        return self._babble[band]

    def noise(self, turn: CorpusTurn, samples: int) -> Float64Array:
        """Unit-RMS noise of the turn's kind, the same for the same seed on every run."""
        assert turn.noise is not None
        rng = np.random.default_rng(turn.noise.seed)
        if turn.noise.kind == "pink":
            return pink_noise(samples, rng)
        bed = self.babble(turn.band)
        mix = np.zeros(samples)
        for _ in range(BABBLE_TALKERS):
            talker = np.roll(bed, -int(rng.integers(0, bed.size)))
            mix += np.tile(talker, samples // talker.size + 1)[:samples] * 10.0 ** (rng.uniform(-3, 3) / 20)
        mix /= math.sqrt(float(np.mean(np.square(mix))))
        mix += 0.5 * pink_noise(samples, rng)
        return np.asarray(mix / math.sqrt(float(np.mean(np.square(mix)))), dtype=np.float64)

    def render(self, turn: CorpusTurn) -> Float64Array:
        """The finished turn at its band's rate: levelled speech, 0.3 s before and 0.5 s after, noise mixed in."""
        rate = BAND_RATES[turn.band]
        speech = normalise(to_band(self.speech(turn), turn.band), rate)
        padded = np.concatenate([np.zeros(round(LEAD_S * rate)), speech, np.zeros(round(TRAIL_S * rate))])
        if turn.noise is not None:
            noise_rms = active_rms(speech, rate) * 10.0 ** (-turn.noise.snr_db / 20.0)
            padded = padded + self.noise(turn, padded.size) * noise_rms
            peak = float(np.max(np.abs(padded)))
            if peak > PEAK_CEILING:
                padded *= PEAK_CEILING / peak
        return padded


def generate(manifest: CorpusManifest, names: Sequence[str], out_dir: Path) -> list[Path]:
    """Write the WAVs of the named conversations (all when empty) under out_dir (standing for fixtures/)."""
    engine = CorpusSynthesizer(manifest)
    written: list[Path] = []
    for conversation in manifest.conversations:
        if names and conversation.name not in names:
            continue
        started = time.perf_counter()
        for turn in conversation.turns:
            path = out_dir / turn.wav
            write_turn(path, engine.render(turn), turn.band)
            written.append(path)
        size = sum((out_dir / turn.wav).stat().st_size for turn in conversation.turns)
        print(
            f"{conversation.name:42s} {conversation.voice:11s} {conversation.band:5s} "
            f"{len(conversation.turns):2d} wavs {size / 1024:7.1f} KiB {time.perf_counter() - started:5.1f} s",
            flush=True,
        )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: python -m agent.qa.corpus_synthesis [--out fixtures] [--only NAME ...]."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR, help="folder standing for fixtures/")
    parser.add_argument("--manifest", type=Path, default=CORPUS_FILE)
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="one conversation")
    args = parser.parse_args(argv)
    manifest = load_corpus(args.manifest)
    unknown = set(args.only) - {conversation.name for conversation in manifest.conversations}
    if unknown:
        parser.error(f"no such conversation: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    paths = generate(manifest, args.only, args.out)
    total = sum(path.stat().st_size for path in paths)
    print(f"{len(paths)} wavs, {total / 1e6:.2f} MB, {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
