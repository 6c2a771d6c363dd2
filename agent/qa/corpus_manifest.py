"""The caller corpus manifest (fixtures/callers/corpus.yaml): conversations, caller turns and their expected end state."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"
CORPUS_FILE = FIXTURES_DIR / "callers" / "corpus.yaml"
AUDIO_PREFIX = "callers/audio"  # WAV paths are relative to fixtures/, like those of scenarios/voice.yaml

Band = Literal["clean", "phone"]
Rate = Literal["slow", "normal", "fast"]
BAND_RATES: dict[Band, int] = {"clean": 16000, "phone": 8000}
RATES: tuple[Rate, ...] = ("slow", "normal", "fast")
NOISE_KINDS = ("babble", "pink")
PAUSE_RANGE_S = (0.3, 1.2)
# "[0.6]" inside a turn's `say` is 0.6 s of silence at that point; the words around it are said separately.
_PAUSE_MARK = re.compile(r"\[(\d+(?:\.\d+)?)\]")


@dataclass(frozen=True)
class Segment:
    """A stretch of speech said in one go, and the silence the caller leaves after it (0 for the last)."""

    text: str
    pause_after_s: float = 0.0


@dataclass(frozen=True)
class Noise:
    kind: str
    snr_db: float
    seed: int


@dataclass(frozen=True)
class CorpusTurn:
    """One caller turn: the exact words, how they are said, and the WAV that says them."""

    index: int  # 1-based within its conversation
    say: str  # the script, pause marks included
    text: str  # the exact words (marks removed): the reference for word recall
    segments: tuple[Segment, ...]
    voice: str
    rate: Rate
    band: Band
    wav: str  # relative to fixtures/
    noise: Noise | None = None
    pause_before_s: float = 0.6
    barge_in_after_s: float | None = None

    @property
    def pauses_s(self) -> list[float]:
        return [segment.pause_after_s for segment in self.segments if segment.pause_after_s > 0]


@dataclass(frozen=True)
class Conversation:
    """One caller's call: who they are, what they say, and the end state the agent must reach."""

    name: str
    description: str
    kinds: tuple[str, ...]
    voice: str
    band: Band
    turns: tuple[CorpusTurn, ...]
    caller_phone: str | None = None
    appointments: tuple[dict[str, Any], ...] = ()
    heard: tuple[tuple[str, ...], ...] = ()  # each entry: one of these phrases must be in what the agent said
    never_heard: tuple[str, ...] = ()  # phrases the agent must not say (e.g. asking a known caller's name)

    @property
    def books(self) -> bool:
        return any(row.get("status") == "booked" for row in self.appointments)


@dataclass(frozen=True)
class CorpusManifest:
    voices: dict[str, dict[str, Any]]
    rates: dict[str, dict[str, float]]
    conversations: tuple[Conversation, ...] = field(default_factory=tuple)

    @property
    def turns(self) -> list[CorpusTurn]:
        return [turn for conversation in self.conversations for turn in conversation.turns]


def split_script(say: str) -> tuple[str, tuple[Segment, ...]]:
    """`"Actually, [0.8] make it Monday"` -> ("Actually, make it Monday", two segments with 0.8 s between)."""
    pieces = _PAUSE_MARK.split(say)
    segments: list[Segment] = []
    for position in range(0, len(pieces), 2):
        words = pieces[position].strip()
        pause = float(pieces[position + 1]) if position + 1 < len(pieces) else 0.0
        if not words:
            raise ValueError(f"a pause mark must sit between words: {say!r}")
        segments.append(Segment(words, pause))
    return " ".join(segment.text for segment in segments), tuple(segments)


def _noise(raw: dict[str, Any] | None) -> Noise | None:
    if raw is None:
        return None
    noise = Noise(str(raw["kind"]), float(raw["snr_db"]), int(raw["seed"]))
    if noise.kind not in NOISE_KINDS:
        raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {noise.kind!r}")
    return noise


def _turn(name: str, index: int, raw: dict[str, Any], voice: str, band: Band) -> CorpusTurn:
    text, segments = split_script(str(raw["say"]))
    rate = raw.get("rate")
    if rate not in RATES:
        raise ValueError(f"{name} turn {index}: rate must be one of {RATES}, got {rate!r}")
    for segment in segments[:-1]:
        if not PAUSE_RANGE_S[0] <= segment.pause_after_s <= PAUSE_RANGE_S[1]:
            raise ValueError(f"{name} turn {index}: pause {segment.pause_after_s} s outside {PAUSE_RANGE_S}")
    barge = raw.get("barge_in_after_s")
    return CorpusTurn(
        index=index,
        say=str(raw["say"]),
        text=text,
        segments=segments,
        voice=str(raw.get("voice", voice)),
        rate=rate,
        band=band,
        wav=f"{AUDIO_PREFIX}/{name}/{index:02d}.wav",
        noise=_noise(raw.get("noise")),
        pause_before_s=float(raw.get("pause_before_s", 0.6)),
        barge_in_after_s=None if barge is None else float(barge),
    )


def _conversation(raw: dict[str, Any], voices: dict[str, dict[str, Any]]) -> Conversation:
    name = str(raw["name"])
    band = raw.get("band")
    if band not in BAND_RATES:
        raise ValueError(f"{name}: band must be clean or phone, got {band!r}")
    voice = str(raw["voice"])
    turns = tuple(_turn(name, i, turn, voice, band) for i, turn in enumerate(raw["turns"], start=1))
    unknown = {turn.voice for turn in turns} - set(voices)
    if unknown:
        raise ValueError(f"{name}: unknown voice(s) {sorted(unknown)}")
    expect = raw.get("expect") or {}
    heard = tuple(
        (str(item),) if isinstance(item, str) else tuple(str(p) for p in item)
        for item in expect.get("heard", [])
    )
    return Conversation(
        name=name,
        description=str(raw.get("description", "")),
        kinds=tuple(str(kind) for kind in raw.get("kinds", [])),
        voice=voice,
        band=band,
        turns=turns,
        caller_phone=None if raw.get("caller_phone") is None else str(raw["caller_phone"]),
        appointments=tuple(dict(row) for row in expect.get("appointments", [])),
        heard=heard,
        never_heard=tuple(str(p) for p in expect.get("never_heard", [])),
    )


def load_corpus(path: Path = CORPUS_FILE) -> CorpusManifest:
    """Read and check the manifest (unique names, known voices, rates, bands, pauses in range)."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    voices = {str(name): dict(spec) for name, spec in raw["voices"].items()}
    conversations = tuple(_conversation(entry, voices) for entry in raw["conversations"])
    names = [conversation.name for conversation in conversations]
    if len(names) != len(set(names)):
        raise ValueError("conversation names must be unique")
    return CorpusManifest(voices, {str(k): dict(v) for k, v in raw["rates"].items()}, conversations)


def is_corpus_file(loaded: Any) -> bool:
    """A YAML document that is a caller corpus manifest (rather than a list of voice scenarios)."""
    return isinstance(loaded, dict) and "conversations" in loaded and "voices" in loaded


def replay_scenario_of(conversation: Conversation) -> dict[str, Any]:
    """The conversation as a voice scenario for `agent.qa.voice_replay.replay_scenario`.

    Its `expect` holds the appointment rows (judged by the replay itself); `corpus` carries the rest of the
    expected end state to `agent.qa.corpus_judge`.
    """
    turns: list[dict[str, Any]] = []
    for turn in conversation.turns:
        entry: dict[str, Any] = {"wav": turn.wav, "text": turn.text, "pause_before_s": turn.pause_before_s}
        if turn.barge_in_after_s is not None:
            entry |= {"barge_in_after_s": turn.barge_in_after_s, "interrupts": True}
        turns.append(entry)
    scenario: dict[str, Any] = {
        "name": conversation.name,
        "description": conversation.description,
        "band": conversation.band,
        "turns": turns,
        "expect": {"appointments": [dict(row) for row in conversation.appointments]},
        "corpus": conversation,
    }
    if conversation.caller_phone:
        scenario["caller_phone"] = conversation.caller_phone
    return scenario
