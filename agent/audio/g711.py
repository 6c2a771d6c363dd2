"""ITU-T G.711 mu-law and A-law codecs: 256-entry decode tables and a vectorised encoder, bit-exact with audioop."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
Uint8Array = npt.NDArray[np.uint8]
Law = Literal["mulaw", "alaw"]

# Segment end points of the companding curves (the reference encoder of G.191 / Sun's g711.c).
_MULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)
_MULAW_BIAS = 0x84
_MULAW_CLIP = 8159  # in the 14-bit domain


def _build_mulaw_table() -> Int16Array:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((code & 0x0F) << 3) + _MULAW_BIAS) << ((code & 0x70) >> 4)
    return np.where(code & 0x80, _MULAW_BIAS - magnitude, magnitude - _MULAW_BIAS).astype(np.int16)


def _build_alaw_table() -> Int16Array:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    mantissa = (code & 0x0F) << 4
    magnitude = np.where(
        segment == 0,
        mantissa + 8,
        (mantissa + 0x108) << np.maximum(segment - 1, 0),
    )
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


# Decode tables: index with the code byte. Small pure computations, so building them at import is cheap.
MULAW_DECODE_TABLE: Int16Array = _build_mulaw_table()
ALAW_DECODE_TABLE: Int16Array = _build_alaw_table()
MULAW_DECODE_TABLE.flags.writeable = False
ALAW_DECODE_TABLE.flags.writeable = False

# The code each law uses for silence (an idle telephone line).
MULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5


def _as_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int32]:
    array = np.asarray(samples)
    if array.dtype != np.int16:
        raise TypeError(f"G.711 encoders take int16 samples, got {array.dtype}")
    return array.astype(np.int32)


def _as_codes(data: bytes | Uint8Array) -> Uint8Array:
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(data, dtype=np.uint8)
    array = np.asarray(data)
    if array.dtype != np.uint8:
        raise TypeError(f"G.711 decoders take bytes or uint8 codes, got {array.dtype}")
    return array


def mulaw_encode(samples: npt.ArrayLike) -> Uint8Array:
    """Encode int16 PCM to mu-law code bytes (one per sample)."""
    pcm = _as_int16(samples) >> 2  # the law works on 14 bits
    negative = pcm < 0
    magnitude = np.minimum(np.where(negative, -pcm, pcm), _MULAW_CLIP) + (_MULAW_BIAS >> 2)
    segment = np.searchsorted(_MULAW_SEG_END, magnitude, side="left")
    mantissa = (magnitude >> (segment + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    mask = np.where(negative, 0x7F, 0xFF)
    return (code ^ mask).astype(np.uint8)


def alaw_encode(samples: npt.ArrayLike) -> Uint8Array:
    """Encode int16 PCM to A-law code bytes (one per sample, even bits inverted as on the wire)."""
    pcm = _as_int16(samples) >> 3  # the law works on 13 bits
    negative = pcm < 0
    magnitude = np.where(negative, -pcm - 1, pcm)
    segment = np.searchsorted(_ALAW_SEG_END, magnitude, side="left")
    mantissa = (magnitude >> np.where(segment < 2, 1, segment)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    mask = np.where(negative, 0x55, 0xD5)
    return (code ^ mask).astype(np.uint8)


def mulaw_decode(data: bytes | Uint8Array) -> Int16Array:
    """Decode mu-law code bytes to int16 PCM."""
    return MULAW_DECODE_TABLE[_as_codes(data)]


def alaw_decode(data: bytes | Uint8Array) -> Int16Array:
    """Decode A-law code bytes to int16 PCM."""
    return ALAW_DECODE_TABLE[_as_codes(data)]


def encode(samples: npt.ArrayLike, law: Law) -> bytes:
    """Encode int16 PCM to G.711 payload bytes for the given law."""
    codes = mulaw_encode(samples) if law == "mulaw" else alaw_encode(samples)
    return codes.tobytes()


def decode(data: bytes | Uint8Array, law: Law) -> Int16Array:
    """Decode a G.711 payload of the given law to int16 PCM."""
    return mulaw_decode(data) if law == "mulaw" else alaw_decode(data)
