"""Synthesise the caller WAVs of fixtures/scenarios/voice.yaml with hibari, band-limited and levelled, reproducibly."""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import yaml

from agent.audio.frames import float_to_int16, int16_to_float
from agent.audio.resample import resample
from agent.audio.wav import write_g711_wav, write_wav

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"
VOICE_SCENARIOS = FIXTURES_DIR / "scenarios" / "voice.yaml"
DEFAULT_OUT = FIXTURES_DIR / "audio"

Band = Literal["clean", "phone"]
Float64Array = npt.NDArray[np.float64]

TTS_RATE = 24000
BAND_RATES: dict[Band, int] = {"clean": 16000, "phone": 8000}
TTS_SEED = 1125  # hibari's noise component; fixed so every run gives the same samples
LEAD_S = 0.3
TRAIL_S = 0.5
TARGET_DBFS = -20.0
PEAK_CEILING = 0.89  # -1 dBFS: the gain is lowered rather than clipping a peak
ACTIVE_RANGE_DB = 40.0  # frames within this much of the loudest frame count as speech for the level
PHONE_SOX_EFFECTS = ("sinc", "300-3400")
# Unintelligible cafe chatter: these sentences are synthesised, reversed in time and overlapped.
BABBLE_LINES = (
    "Could I get a large coffee with oat milk, and one of the blueberry muffins?",
    "We drove up to the lake last weekend and the traffic was terrible the whole way.",
    "She said the meeting moved to Thursday, so I have the whole afternoon free.",
    "Honestly the new place on Main Street has much better sandwiches than this one.",
    "Did you see the game last night? They almost came back in the fourth quarter.",
    "I think we should split the bill and leave a little extra for the tip.",
)
BABBLE_TALKERS = 6


@dataclass(frozen=True)
class VoiceTurn:
    """One caller turn to synthesise: the words, what the TTS reads, and where the WAV goes."""

    wav: str
    text: str
    segments: tuple[str, ...]
    segment_gap_s: float
    phonemes: str | None = None  # misaki/Kokoro phonemes given straight to the model, bypassing its G2P


@dataclass(frozen=True)
class VoiceScenario:
    """The synthesis-relevant part of one voice.yaml entry."""

    name: str
    band: Band
    turns: tuple[VoiceTurn, ...]
    noise: str | None = None
    noise_snr_db: float | None = None
    noise_seed: int = 0


def _parse_turn(raw: dict[str, Any]) -> VoiceTurn:
    wav = str(raw["wav"])
    if not wav.startswith("audio/") or not wav.endswith(".wav"):
        raise ValueError(f"turn wav must be audio/<scenario>/<nn>.wav, got {wav!r}")
    if "tts_segments" in raw:
        segments = tuple(str(part) for part in raw["tts_segments"])
    else:
        segments = (str(raw.get("tts_text", raw["text"])),)
    phonemes = None if raw.get("tts_phonemes") is None else str(raw["tts_phonemes"])
    return VoiceTurn(wav, str(raw["text"]), segments, float(raw.get("segment_gap_s", 0.0)), phonemes)


def load_voice_scenarios(path: Path = VOICE_SCENARIOS) -> list[VoiceScenario]:
    """Read voice.yaml into the scenarios to synthesise (the replay reads the same file for timing)."""
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    scenarios: list[VoiceScenario] = []
    for entry in entries:
        band = entry.get("band")
        if band not in BAND_RATES:
            raise ValueError(f"scenario {entry.get('name')!r}: band must be clean or phone, got {band!r}")
        scenarios.append(
            VoiceScenario(
                name=str(entry["name"]),
                band=band,
                turns=tuple(_parse_turn(turn) for turn in entry["turns"]),
                noise=entry.get("noise"),
                noise_snr_db=None if entry.get("noise_snr_db") is None else float(entry["noise_snr_db"]),
                noise_seed=int(entry.get("noise_seed", 0)),
            )
        )
    return scenarios


def trim_silence(audio: Float64Array, rate: int, floor_db: float = -50.0) -> Float64Array:
    """Cut leading and trailing stretches quieter than floor_db (relative to the peak), keeping 10 ms margins."""
    if audio.size == 0:
        return audio
    threshold = float(np.max(np.abs(audio))) * 10.0 ** (floor_db / 20.0)
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    margin = rate // 100
    return audio[max(int(loud[0]) - margin, 0) : int(loud[-1]) + margin + 1]


def active_rms(audio: Float64Array, rate: int) -> float:
    """RMS over the 20 ms frames within ACTIVE_RANGE_DB of the loudest one (pauses do not dilute the level)."""
    frame = rate // 50
    count = audio.size // frame
    if count == 0:
        return float(np.sqrt(np.mean(np.square(audio)))) if audio.size else 0.0
    energies = np.mean(np.square(audio[: count * frame].reshape(count, frame)), axis=1)
    loudest = float(np.max(energies))
    if loudest <= 0.0:
        return 0.0
    active = energies[energies >= loudest * 10.0 ** (-ACTIVE_RANGE_DB / 10.0)]
    return math.sqrt(float(np.mean(active)))


def normalise(audio: Float64Array, rate: int, target_dbfs: float = TARGET_DBFS) -> Float64Array:
    """Scale speech to target_dbfs active RMS, lowering the gain if a peak would pass PEAK_CEILING."""
    level = active_rms(audio, rate)
    if level <= 0.0:
        raise ValueError("cannot normalise silence")
    gain = float(10.0 ** (target_dbfs / 20.0)) / level
    peak = float(np.max(np.abs(audio)))
    gain = min(gain, PEAK_CEILING / peak)
    return audio * gain


def band_limit_phone(audio_24k: Float64Array) -> Float64Array:
    """300-3400 Hz band-pass and 24 kHz -> 8 kHz with sox (`sinc 300-3400`), repeatable and undithered."""
    sox = shutil.which("sox")
    if sox is None:
        raise RuntimeError("sox is not installed: apt-get install -y sox libsox-fmt-base")
    raw = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-L"]
    command = [sox, "-R", "-D", *raw, "-r", str(TTS_RATE), "-", *raw, "-r", "8000", "-", *PHONE_SOX_EFFECTS]
    done = subprocess.run(command, input=audio_24k.astype("<f4").tobytes(), capture_output=True, check=True)
    return np.frombuffer(done.stdout, dtype="<f4").astype(np.float64)


def to_band(audio_24k: Float64Array, band: Band) -> Float64Array:
    """TTS output at 24 kHz to the band's rate: soxr for clean 16 kHz, sox band-pass for the phone band."""
    if band == "phone":
        return band_limit_phone(audio_24k)
    pcm = float_to_int16(audio_24k)
    return int16_to_float(resample(pcm, TTS_RATE, BAND_RATES["clean"])).astype(np.float64)


def pink_noise(samples: int, rng: np.random.Generator) -> Float64Array:
    """Unit-RMS 1/f noise, shaped from seeded white noise in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    bins = np.arange(spectrum.size, dtype=np.float64)
    bins[0] = 1.0
    shaped = np.fft.irfft(spectrum / np.sqrt(bins), n=samples)
    return np.asarray(shaped / np.sqrt(np.mean(np.square(shaped))), dtype=np.float64)


class FixtureSynthesizer:
    """Holds one hibari model (bundled default voice, one thread) and the babble bed built from it."""

    def __init__(self) -> None:
        from hibari import Hibari  # type: ignore[import-untyped]  # heavy: load only when synthesising

        self._tts: Any = Hibari(threads=1)  # never pass voice=: other voices download from a hub
        if int(self._tts.sample_rate) != TTS_RATE:
            raise RuntimeError(f"hibari produces {self._tts.sample_rate} Hz, expected {TTS_RATE}")
        self._babble: dict[Band, Float64Array] = {}

    def speak(self, text: str, *, phonemes: bool = False) -> Float64Array:
        """One utterance (text, or a phoneme string when phonemes=True) at 24 kHz, edges trimmed."""
        synthesise = self._tts.from_phonemes if phonemes else self._tts
        raw = synthesise(text, seed=TTS_SEED)
        trimmed = trim_silence(np.asarray(raw, dtype=np.float64), TTS_RATE)
        if trimmed.size == 0:
            raise RuntimeError(f"hibari produced no audio for {text!r}")
        return trimmed

    def utterance(self, turn: VoiceTurn) -> Float64Array:
        """The turn's speech at 24 kHz: its phonemes, or its segments joined by segment_gap_s of silence."""
        if turn.phonemes is not None:
            return self.speak(turn.phonemes, phonemes=True)
        gap = np.zeros(round(turn.segment_gap_s * TTS_RATE))
        parts: list[Float64Array] = []
        for index, segment in enumerate(turn.segments):
            if index:
                parts.append(gap)
            parts.append(self.speak(segment))
        return np.concatenate(parts)

    def babble(self, band: Band) -> Float64Array:
        """A unit-RMS bed of reversed multi-talker chatter plus pink noise at the band's rate."""
        if band not in self._babble:
            lines = [to_band(self.speak(line)[::-1].copy(), band) for line in BABBLE_LINES]
            bed = np.concatenate(lines)
            bed = bed / math.sqrt(float(np.mean(np.square(bed))))
            self._babble[band] = bed
        return self._babble[band]

    def noise(self, scenario: VoiceScenario, samples: int) -> Float64Array:
        """Unit-RMS noise of the scenario's kind, deterministic for its noise_seed."""
        rng = np.random.default_rng(scenario.noise_seed)
        if scenario.noise == "pink":
            return pink_noise(samples, rng)
        if scenario.noise != "babble":
            raise ValueError(f"scenario {scenario.name}: unknown noise {scenario.noise!r} (babble or pink)")
        bed = self.babble(scenario.band)
        mix = np.zeros(samples)
        for _ in range(BABBLE_TALKERS):
            start = int(rng.integers(0, bed.size))
            talker = np.roll(bed, -start)
            repeats = samples // talker.size + 1
            mix += np.tile(talker, repeats)[:samples] * 10.0 ** (rng.uniform(-3.0, 3.0) / 20.0)
        mix /= math.sqrt(float(np.mean(np.square(mix))))
        mix += 0.5 * pink_noise(samples, rng)  # the room's hum under the voices, 6 dB down
        return np.asarray(mix / math.sqrt(float(np.mean(np.square(mix)))), dtype=np.float64)

    def render_turn(self, scenario: VoiceScenario, turn: VoiceTurn) -> Float64Array:
        """The finished turn at the band's rate: levelled speech, padded, with the scenario's noise mixed in."""
        rate = BAND_RATES[scenario.band]
        speech = normalise(to_band(self.utterance(turn), scenario.band), rate)
        speech_rms = active_rms(speech, rate)
        padded = np.concatenate([np.zeros(round(LEAD_S * rate)), speech, np.zeros(round(TRAIL_S * rate))])
        if scenario.noise_snr_db is not None:
            noise_rms = speech_rms * 10.0 ** (-scenario.noise_snr_db / 20.0)
            padded = padded + self.noise(scenario, padded.size) * noise_rms
            peak = float(np.max(np.abs(padded)))
            if peak > PEAK_CEILING:
                padded *= PEAK_CEILING / peak
        return padded


def write_turn(path: Path, audio: Float64Array, band: Band) -> None:
    """16-bit PCM WAV for the clean band, 8-bit mu-law WAV (format tag 7) for the phone band."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = float_to_int16(audio)
    if band == "phone":
        write_g711_wav(path, pcm, BAND_RATES["phone"], "mulaw")
    else:
        write_wav(path, pcm, BAND_RATES["clean"])


def generate(
    scenarios: Sequence[VoiceScenario],
    out_dir: Path = DEFAULT_OUT,
    synthesizer: FixtureSynthesizer | None = None,
) -> list[Path]:
    """Synthesise and write every turn of the given scenarios; returns the paths written, in order."""
    engine = synthesizer or FixtureSynthesizer()
    written: list[Path] = []
    for scenario in scenarios:
        for turn in scenario.turns:
            path = out_dir / Path(turn.wav).relative_to("audio")
            write_turn(path, engine.render_turn(scenario, turn), scenario.band)
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: python -m agent.qa.fixture_synthesis [--out fixtures/audio] [--only NAME ...]."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder standing for fixtures/audio")
    parser.add_argument("--scenarios", type=Path, default=VOICE_SCENARIOS, help="the voice scenario file")
    parser.add_argument("--only", action="append", metavar="NAME", help="only this scenario (repeatable)")
    args = parser.parse_args(argv)
    scenarios = load_voice_scenarios(args.scenarios)
    if args.only:
        unknown = set(args.only) - {scenario.name for scenario in scenarios}
        if unknown:
            parser.error(f"no such scenario: {', '.join(sorted(unknown))}")
        scenarios = [scenario for scenario in scenarios if scenario.name in args.only]
    started = time.perf_counter()
    engine = FixtureSynthesizer()
    total = 0
    for scenario in scenarios:
        paths = generate([scenario], args.out, engine)
        size = sum(path.stat().st_size for path in paths)
        total += size
        print(
            f"{scenario.name:40s} {scenario.band:5s} {len(paths):2d} wavs {size / 1024:8.1f} KiB", flush=True
        )
    elapsed = time.perf_counter() - started
    print(f"{len(scenarios)} scenarios, {total / 1e6:.2f} MB, {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
