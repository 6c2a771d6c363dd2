"""WAV files: read PCM (8/16/24/32-bit), float and G.711 WAVs as int16 mono; write 16-bit (mono or more) or G.711."""

from __future__ import annotations

import struct
import wave
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import numpy.typing as npt

from agent.audio.frames import float_to_int16
from agent.audio.g711 import Law, alaw_decode, alaw_encode, mulaw_decode, mulaw_encode

Int16Array = npt.NDArray[np.int16]
StrPath = str | PathLike[str]

_PCM = 0x0001
_FLOAT = 0x0003
_ALAW = 0x0006
_MULAW = 0x0007
_EXTENSIBLE = 0xFFFE
_LAW_TAGS: dict[Law, int] = {"mulaw": _MULAW, "alaw": _ALAW}


class WavFormatError(ValueError):
    """The file is not a WAV this module can read."""


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """RIFF chunks of a WAVE file by id (first occurrence wins); tolerates a truncated last chunk."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavFormatError("not a RIFF/WAVE file")
    chunks: dict[bytes, bytes] = {}
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = data[offset + 8 : offset + 8 + size]  # streaming writers leave size unset: take what is there
        chunks.setdefault(chunk_id, body)
        offset += 8 + size + (size & 1)  # chunks are word-aligned
    return chunks


def _format_tag(fmt: bytes) -> int:
    (tag,) = struct.unpack_from("<H", fmt, 0)
    if tag == _EXTENSIBLE:
        if len(fmt) < 26:
            raise WavFormatError("WAVE_FORMAT_EXTENSIBLE header is truncated")
        (tag,) = struct.unpack_from("<H", fmt, 24)  # first two bytes of the sub-format GUID
    return int(tag)


def _decode_samples(raw: bytes, tag: int, bits: int) -> Int16Array:
    """Interleaved samples of any supported encoding as int16."""
    if tag == _MULAW and bits == 8:
        return mulaw_decode(raw)
    if tag == _ALAW and bits == 8:
        return alaw_decode(raw)
    if tag == _PCM and bits == 8:
        return ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if tag == _PCM and bits == 16:
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if tag == _PCM and bits == 24:
        triples = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        value = np.where(value & 0x800000, value - 0x1000000, value)
        return (value >> 8).astype(np.int16)
    if tag == _PCM and bits == 32:
        return (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    if tag == _FLOAT and bits in (32, 64):
        return float_to_int16(np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8"))
    raise WavFormatError(f"unsupported WAV encoding: format tag {tag:#06x}, {bits} bits per sample")


def _to_mono(interleaved: Int16Array, channels: int) -> Int16Array:
    if channels == 1:
        return interleaved
    frames = interleaved[: interleaved.shape[0] // channels * channels].reshape(-1, channels)
    # the mean of int16 values always fits int16; round rather than truncate toward zero
    mixed: npt.NDArray[np.float64] = np.rint(frames.astype(np.float64).mean(axis=1))
    return mixed.astype(np.int16)


def read_wav(path: StrPath) -> tuple[Int16Array, int]:
    """Read a WAV file as (int16 mono samples, sample rate); multi-channel files are averaged to mono."""
    chunks = _chunks(Path(path).read_bytes())
    fmt = chunks.get(b"fmt ")
    if fmt is None or len(fmt) < 16:
        raise WavFormatError("WAV file has no valid fmt chunk")
    if b"data" not in chunks:
        raise WavFormatError("WAV file has no data chunk")
    _, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt, 0)
    if channels < 1 or rate < 1:
        raise WavFormatError(f"bad WAV header: {channels} channels at {rate} Hz")
    if bits == 0:
        bits = block_align * 8 // channels
    raw = chunks[b"data"]
    sample_bytes = max(bits // 8, 1)
    raw = raw[: len(raw) // (sample_bytes * channels) * (sample_bytes * channels)]
    samples = _decode_samples(raw, _format_tag(fmt), bits)
    return _to_mono(samples, channels), int(rate)


def write_wav(path: StrPath, samples: npt.ArrayLike, sample_rate: int) -> None:
    """Write int16 mono samples as a 16-bit PCM WAV."""
    pcm = _check_int16(samples)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.astype("<i2", copy=False).tobytes())


def write_wav_channels(
    path: StrPath, channels: Sequence[npt.ArrayLike], sample_rate: int, block_frames: int = 1 << 20
) -> None:
    """Write equally long int16 mono signals as one 16-bit PCM WAV, one channel each (left, right, ...).

    Interleaves a block at a time, so a long recording never needs a second full-size copy in memory.
    """
    signals = [_check_int16(channel) for channel in channels]
    if not signals:
        raise ValueError("a WAV file needs at least one channel")
    length = signals[0].shape[0]
    if any(signal.shape[0] != length for signal in signals):
        raise ValueError(f"channels differ in length: {[signal.shape[0] for signal in signals]}")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(signals))
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        for start in range(0, length, block_frames):
            block = np.stack([signal[start : start + block_frames] for signal in signals], axis=1)
            out.writeframes(block.astype("<i2", copy=False).tobytes())


def write_g711_wav(path: StrPath, samples: npt.ArrayLike, sample_rate: int, law: Law = "mulaw") -> None:
    """Write int16 mono samples as a G.711 WAV (format tag 7 or 6, 8 bits), as a telephone would record them."""
    pcm = _check_int16(samples)
    payload = (mulaw_encode(pcm) if law == "mulaw" else alaw_encode(pcm)).tobytes()
    fmt = struct.pack("<HHIIHHH", _LAW_TAGS[law], 1, sample_rate, sample_rate, 1, 8, 0)
    fact = struct.pack("<I", len(payload))
    body = b"WAVE"
    body += b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"fact" + struct.pack("<I", len(fact)) + fact
    body += b"data" + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def _check_int16(samples: npt.ArrayLike) -> Int16Array:
    array = np.asarray(samples)
    if array.dtype != np.int16 or array.ndim != 1:
        raise TypeError(f"WAV writing takes 1-D int16 samples, got {array.dtype} with shape {array.shape}")
    return array
