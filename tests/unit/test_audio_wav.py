"""WAV files: 16-bit round trips, other PCM widths, float, stereo, G.711 WAVs (ours and sox's), and bad files."""

from __future__ import annotations

import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from agent.audio.frames import float_to_int16
from agent.audio.g711 import alaw_decode, alaw_encode, mulaw_decode, mulaw_encode
from agent.audio.wav import WavFormatError, read_wav, write_g711_wav, write_wav, write_wav_channels

pytestmark = pytest.mark.unit

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def make_signal(rate: int, seconds: float = 0.5) -> npt.NDArray[np.int16]:
    t = np.arange(round(rate * seconds)) / rate
    noise = np.random.default_rng(rate).normal(0, 0.05, t.size)
    return float_to_int16(0.4 * np.sin(2 * np.pi * 440 * t) + noise)


def riff(fmt: bytes, data: bytes, extra_chunks: bytes = b"") -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_16bit_round_trip_is_exact(tmp_path: Path, rate: int) -> None:
    signal = make_signal(rate)
    path = tmp_path / "out.wav"
    write_wav(path, signal, rate)
    samples, read_rate = read_wav(path)
    assert read_rate == rate
    assert samples.dtype == np.int16
    assert np.array_equal(samples, signal)
    with wave.open(str(path)) as check:  # a standard 16-bit mono PCM file
        assert (check.getnchannels(), check.getsampwidth(), check.getframerate()) == (1, 2, rate)


@pytest.mark.parametrize("width", [1, 3, 4])
def test_other_pcm_widths_are_read_as_int16(tmp_path: Path, width: int) -> None:
    signal = make_signal(16000).astype(np.int32)
    if width == 1:
        raw = ((signal >> 8) + 128).astype(np.uint8).tobytes()
        expected = (signal >> 8) << 8
    elif width == 3:
        wide = signal << 8 | 0x5A  # low byte carries detail that int16 cannot hold
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in wide)
        expected = signal
    else:
        raw = (signal << 16 | 0x1234).astype("<i4").tobytes()
        expected = signal
    path = tmp_path / f"pcm{width * 8}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(width)
        out.setframerate(16000)
        out.writeframes(raw)
    samples, rate = read_wav(path)
    assert rate == 16000
    assert np.array_equal(samples.astype(np.int32), expected)


def test_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    left = np.array([1000, -2000, 32767, 3], dtype=np.int16)
    right = np.array([3000, -2000, 32767, 0], dtype=np.int16)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(np.column_stack([left, right]).astype("<i2").tobytes())
    samples, _ = read_wav(path)
    assert samples.tolist() == [2000, -2000, 32767, 2]


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_g711_wav_round_trip(tmp_path: Path, law: str) -> None:
    signal = make_signal(8000)
    path = tmp_path / f"{law}.wav"
    write_g711_wav(path, signal, 8000, law="mulaw" if law == "mulaw" else "alaw")
    raw = path.read_bytes()
    assert struct.unpack_from("<H", raw, 20)[0] == (7 if law == "mulaw" else 6)
    samples, rate = read_wav(path)
    expected = mulaw_decode(mulaw_encode(signal)) if law == "mulaw" else alaw_decode(alaw_encode(signal))
    assert rate == 8000
    assert np.array_equal(samples, expected)


def test_float_and_extensible_headers_are_understood(tmp_path: Path) -> None:
    values = np.array([0.0, 0.5, -0.5, 1.2], dtype="<f4")
    plain = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
    guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    extensible = (
        struct.pack("<HHIIHHHHI", 0xFFFE, 1, 16000, 64000, 4, 32, 22, 32, 4)
        + struct.pack("<H", 3)
        + guid_tail
    )
    for name, fmt in (("float.wav", plain), ("ext.wav", extensible)):
        path = tmp_path / name
        path.write_bytes(riff(fmt, values.tobytes()))
        samples, rate = read_wav(path)
        assert rate == 16000
        assert samples.tolist() == [0, 16384, -16384, 32767]


def test_chunks_before_data_are_skipped_including_odd_sized_ones(tmp_path: Path) -> None:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    junk = b"LIST" + struct.pack("<I", 5) + b"abcde" + b"\x00"  # odd size, padded to even
    path = tmp_path / "list.wav"
    path.write_bytes(riff(fmt, np.array([1, 2, 3], dtype="<i2").tobytes(), junk))
    samples, _ = read_wav(path)
    assert samples.tolist() == [1, 2, 3]


def test_a_data_size_larger_than_the_file_reads_what_is_there(tmp_path: Path) -> None:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF)
    body += np.array([5, 6, 7], dtype="<i2").tobytes() + b"\x01"  # and a stray half sample
    path = tmp_path / "streamed.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + body)
    samples, _ = read_wav(path)
    assert samples.tolist() == [5, 6, 7]


def test_files_that_are_not_readable_wavs_raise_a_clear_error(tmp_path: Path) -> None:
    not_wav = tmp_path / "note.txt"
    not_wav.write_bytes(b"hello, this is not audio")
    with pytest.raises(WavFormatError):
        read_wav(not_wav)
    adpcm = tmp_path / "adpcm.wav"
    adpcm.write_bytes(riff(struct.pack("<HHIIHH", 2, 1, 8000, 4000, 256, 4), b"\x00" * 256))
    with pytest.raises(WavFormatError, match="format tag"):
        read_wav(adpcm)
    no_data = tmp_path / "nodata.wav"
    no_data.write_bytes(
        b"RIFF" + struct.pack("<I", 28) + b"WAVEfmt " + struct.pack("<I", 16) + b"\x01\x00" * 8
    )
    with pytest.raises(WavFormatError, match="data"):
        read_wav(no_data)


def test_write_refuses_non_int16(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_wav(tmp_path / "x.wav", np.zeros(10, dtype=np.float32), 8000)


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True, timeout=30)


@needs_sox
@pytest.mark.parametrize("encoding", ["u-law", "a-law"])
def test_g711_wavs_written_by_sox(tmp_path: Path, encoding: str) -> None:
    signal = make_signal(8000)
    source = tmp_path / "source.wav"
    write_wav(source, signal, 8000)
    g711_wav = tmp_path / "g711.wav"
    _sox(str(source), "-e", encoding, str(g711_wav))
    assert struct.unpack_from("<H", g711_wav.read_bytes(), 20)[0] == (7 if encoding == "u-law" else 6)
    # sox's own decoding of its file is the reference (sox rounds where G.711's reference encoder
    # truncates, so its codes may differ from ours by one step; the decode tables are the same)
    decoded_by_sox = tmp_path / "pcm.wav"
    _sox(str(g711_wav), "-e", "signed-integer", "-b", "16", str(decoded_by_sox))
    samples, rate = read_wav(g711_wav)
    reference, _ = read_wav(decoded_by_sox)
    assert rate == 8000
    assert np.array_equal(samples, reference)
    assert np.abs(samples.astype(np.int32) - signal).max() <= max(64, int(np.abs(signal).max()) // 16)


@needs_sox
def test_phone_band_fixture_recipe_from_the_notes(tmp_path: Path) -> None:
    # `sox in.wav -r 8000 -c 1 -e u-law tel.wav sinc 300-3400` from a 24 kHz stereo 24-bit source
    source = tmp_path / "tts.wav"
    write_wav(source, make_signal(24000, 1.0), 24000)
    wide = tmp_path / "wide.wav"
    _sox(str(source), "-c", "2", "-b", "24", str(wide))
    tel = tmp_path / "tel.wav"
    _sox(str(wide), "-r", "8000", "-c", "1", "-e", "u-law", str(tel), "sinc", "300-3400")
    wide_samples, wide_rate = read_wav(wide)
    assert wide_rate == 24000
    assert np.abs(wide_samples.astype(np.int32) - make_signal(24000, 1.0)).max() <= 1
    samples, rate = read_wav(tel)
    assert rate == 8000
    assert abs(samples.size - 8000) <= 8
    spectrum = np.abs(np.fft.rfft(samples[1000:7000].astype(np.float64)))
    freqs = np.fft.rfftfreq(6000, 1 / 8000)
    assert freqs[np.argmax(spectrum)] == pytest.approx(440, abs=2)


@needs_sox
def test_float_wav_written_by_sox(tmp_path: Path) -> None:
    signal = make_signal(16000)
    source = tmp_path / "source.wav"
    write_wav(source, signal, 16000)
    converted = tmp_path / "float.wav"
    _sox(str(source), "-e", "floating-point", "-b", "32", str(converted))
    samples, _ = read_wav(converted)
    assert np.abs(samples.astype(np.int32) - signal).max() <= 1


def test_channels_are_written_interleaved_in_order(tmp_path: Path) -> None:
    left = make_signal(8000)
    right = (-left.astype(np.int32)).clip(-32768, 32767).astype(np.int16)
    path = tmp_path / "stereo.wav"
    write_wav_channels(path, [left, right], 8000, block_frames=1000)  # several blocks
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    np.testing.assert_array_equal(frames[:, 0], left)
    np.testing.assert_array_equal(frames[:, 1], right)
    with pytest.raises(ValueError):
        write_wav_channels(path, [left, right[:-1]], 8000)
    with pytest.raises(TypeError):
        write_wav_channels(path, [left.astype(np.float32)], 8000)
