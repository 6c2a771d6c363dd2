"""Split model files are joined once into a cache, verified, and never left half-written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.speech.model_files import concatenate_parts

pytestmark = pytest.mark.unit


def _parts(tmp_path: Path) -> list[Path]:
    parts = []
    for i, payload in enumerate([b"a" * 1000, b"b" * 777, b"c" * 5]):
        part = tmp_path / f"model.bin.part{i + 1}"
        part.write_bytes(payload)
        parts.append(part)
    return parts


def test_parts_are_joined_in_order(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    dest = concatenate_parts(parts, tmp_path / "cache" / "model.bin")
    assert dest.read_bytes() == b"a" * 1000 + b"b" * 777 + b"c" * 5
    assert [p.name for p in dest.parent.iterdir()] == ["model.bin"]  # no temporary file left behind


def test_a_complete_copy_is_reused_and_a_truncated_one_rebuilt(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    dest = concatenate_parts(parts, tmp_path / "model.bin")
    first_mtime = dest.stat().st_mtime_ns
    assert concatenate_parts(parts, dest).stat().st_mtime_ns == first_mtime
    dest.write_bytes(b"a" * 10)  # an interrupted copy from an older version
    assert concatenate_parts(parts, dest).stat().st_size == 1782


def test_a_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    good = hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    assert concatenate_parts(parts, tmp_path / "ok.bin", sha256=good).is_file()
    with pytest.raises(ValueError, match="sha256"):
        concatenate_parts(parts, tmp_path / "bad.bin", sha256="0" * 64)
    assert not (tmp_path / "bad.bin").exists()
    assert not list(tmp_path.glob("bad.bin.*"))
