"""G.711: the decode tables hold the ITU values, encoding is bit-exact, and round trips stay within the law's error."""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np
import pytest

from agent.audio import g711
from agent.audio.g711 import (
    ALAW_DECODE_TABLE,
    ALAW_SILENCE,
    MULAW_DECODE_TABLE,
    MULAW_SILENCE,
    alaw_decode,
    alaw_encode,
    decode,
    encode,
    mulaw_decode,
    mulaw_encode,
)

pytestmark = pytest.mark.unit

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


def _audioop() -> ModuleType:
    """The stdlib reference codec (Python <= 3.12, or the audioop-lts backport); skip where neither exists."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module: ModuleType = pytest.importorskip("audioop")
        return module


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xFF, 0), (0x7F, 0), (0xFE, 8), (0x7E, -8), (0x80, 32124), (0x00, -32124), (0xF0, 120), (0x8F, 16764)],
)
def test_mulaw_decode_table_holds_itu_values(code: int, value: int) -> None:
    assert MULAW_DECODE_TABLE[code] == value


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xD5, 8), (0x55, -8), (0xD4, 24), (0xAA, 32256), (0x2A, -32256), (0xC5, 264), (0xE5, 1056)],
)
def test_alaw_decode_table_holds_itu_values(code: int, value: int) -> None:
    assert ALAW_DECODE_TABLE[code] == value


def test_silence_codes_decode_to_near_zero() -> None:
    assert mulaw_decode(bytes([MULAW_SILENCE]))[0] == 0
    assert abs(int(alaw_decode(bytes([ALAW_SILENCE]))[0])) <= 8
    assert mulaw_encode(np.zeros(4, dtype=np.int16)).tolist() == [MULAW_SILENCE] * 4
    assert alaw_encode(np.zeros(4, dtype=np.int16)).tolist() == [ALAW_SILENCE] * 4


def test_mulaw_table_is_monotonic_within_each_sign() -> None:
    negative = MULAW_DECODE_TABLE[:128].astype(np.int32)  # 0x00 (most negative) .. 0x7F (zero)
    positive = MULAW_DECODE_TABLE[128:].astype(np.int32)  # 0x80 (most positive) .. 0xFF (zero)
    assert np.all(np.diff(negative) > 0)
    assert np.all(np.diff(positive) < 0)
    assert np.array_equal(negative, -positive)


def test_alaw_table_is_symmetric() -> None:
    assert np.array_equal(
        ALAW_DECODE_TABLE[ALL_CODES ^ 0x80].astype(np.int32), -ALAW_DECODE_TABLE.astype(np.int32)
    )


def test_every_code_survives_decode_then_encode() -> None:
    assert np.array_equal(alaw_encode(alaw_decode(ALL_CODES)), ALL_CODES)
    mu = mulaw_encode(mulaw_decode(ALL_CODES))
    # 0x7F is mu-law's "negative zero": it decodes to 0, which encodes as the positive zero 0xFF
    assert mu[0x7F] == 0xFF
    assert np.array_equal(np.delete(mu, 0x7F), np.delete(ALL_CODES, 0x7F))


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_round_trip_error_stays_within_the_companding_step(law: g711.Law) -> None:
    restored = decode(encode(ALL_INT16, law), law).astype(np.int32)
    original = ALL_INT16.astype(np.int32)
    error = np.abs(restored - original)
    in_range = np.abs(original) <= 32000
    # the quantisation step grows with the magnitude: about 1/32 of it (1/20 at mu-law's segment edges)
    assert np.all(error[in_range] <= np.maximum(16, np.abs(original[in_range]) // 16))
    # beyond the largest code the signal clips to it
    assert error.max() <= 644
    assert np.all(np.sign(restored[np.abs(original) > 16]) == np.sign(original[np.abs(original) > 16]))


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
@pytest.mark.parametrize("amplitude", [0.5, 0.1, 0.01])
def test_a_tone_keeps_telephone_quality_snr(law: g711.Law, amplitude: float) -> None:
    t = np.arange(8000) / 8000
    tone = np.rint(amplitude * 32767 * np.sin(2 * np.pi * 1013 * t)).astype(np.int16)
    restored = decode(encode(tone, law), law).astype(np.float64)
    noise = restored - tone
    snr_db = 10 * np.log10(np.mean(tone.astype(np.float64) ** 2) / np.mean(noise**2))
    assert snr_db > 33.0  # G.711 gives about 38 dB over a wide range of levels


def test_encode_returns_one_byte_per_sample_and_decode_accepts_bytes_or_arrays() -> None:
    samples = np.array([0, 1000, -1000, 32767, -32768], dtype=np.int16)
    payload = encode(samples, "mulaw")
    assert isinstance(payload, bytes)
    assert len(payload) == samples.size
    assert np.array_equal(decode(payload, "mulaw"), decode(np.frombuffer(payload, dtype=np.uint8), "mulaw"))


def test_encoders_reject_non_int16_input() -> None:
    with pytest.raises(TypeError):
        mulaw_encode(np.zeros(4, dtype=np.float32))
    with pytest.raises(TypeError):
        alaw_decode(np.zeros(4, dtype=np.int16))


def test_mulaw_is_bit_exact_with_the_stdlib_reference() -> None:
    audioop = _audioop()
    data = ALL_INT16.astype("<i2").tobytes()
    assert mulaw_encode(ALL_INT16).tobytes() == audioop.lin2ulaw(data, 2)
    assert mulaw_decode(ALL_CODES.tobytes()).astype("<i2").tobytes() == audioop.ulaw2lin(
        ALL_CODES.tobytes(), 2
    )


def test_alaw_is_bit_exact_with_the_stdlib_reference() -> None:
    audioop = _audioop()
    data = ALL_INT16.astype("<i2").tobytes()
    assert alaw_encode(ALL_INT16).tobytes() == audioop.lin2alaw(data, 2)
    assert alaw_decode(ALL_CODES.tobytes()).astype("<i2").tobytes() == audioop.alaw2lin(
        ALL_CODES.tobytes(), 2
    )
