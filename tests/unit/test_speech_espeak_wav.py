"""Reading the WAV stream espeak-ng writes to a pipe (chunk sizes it cannot fill in)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from agent.speech.tts import TTSError, float_to_int16
from agent.speech.tts_espeak import parse_wav_stream

pytestmark = pytest.mark.unit


def _wav(samples: np.ndarray, rate: int, *, streamed: bool, extra_chunk: bool = False) -> bytes:
    data = samples.astype("<i2").tobytes()
    size = 0x7FFFFFFF if streamed else len(data)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd size: padded to even
    body += b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", 0x7FFFFFFF if streamed else len(body)) + body


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("extra_chunk", [True, False])
def test_samples_and_rate_are_read(streamed: bool, extra_chunk: bool) -> None:
    samples = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)
    rate, out = parse_wav_stream(_wav(samples, 22050, streamed=streamed, extra_chunk=extra_chunk))
    assert rate == 22050
    assert out.dtype == np.int16
    assert out.tolist() == samples.tolist()


def test_garbage_is_an_error() -> None:
    with pytest.raises(TTSError):
        parse_wav_stream(b"espeak-ng: no voice")
    stereo = _wav(np.zeros(4, dtype=np.int16), 22050, streamed=False).replace(
        struct.pack("<HH", 1, 1), struct.pack("<HH", 1, 2), 1
    )
    with pytest.raises(TTSError, match="channels"):
        parse_wav_stream(stereo)


def test_float_audio_is_clipped_into_int16() -> None:
    assert float_to_int16(np.array([0.0, 0.5, 1.5, -2.0], dtype=np.float32)).tolist() == [
        0,
        16384,
        32767,
        -32767,
    ]
