"""EspeakTTS: the last-resort voice, the espeak-ng binary run as an async subprocess (robotic but always there)."""

from __future__ import annotations

import asyncio
import shutil
import struct

import numpy as np

from agent.speech.tts import Int16Array, TextToSpeech, TTSError

SAMPLE_RATE = 22050


def parse_wav_stream(data: bytes) -> tuple[int, Int16Array]:
    """(rate, samples) from 16-bit mono PCM WAV bytes.

    espeak-ng writing to a pipe cannot seek back to fill in the chunk sizes, so its RIFF and data sizes read
    0x7FFFFFFF; the data chunk is therefore taken to run to the end of the bytes.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise TTSError("espeak-ng did not write a WAV stream")
    offset, rate, bits, channels = 12, 0, 0, 0
    while offset + 8 <= len(data):
        chunk_id, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        body = offset + 8
        if chunk_id == b"fmt ":
            fmt, channels, rate = struct.unpack("<HHI", data[body : body + 8])
            bits = struct.unpack("<H", data[body + 14 : body + 16])[0]
            if fmt != 1 or bits != 16 or channels != 1:
                raise TTSError(f"unsupported WAV: format {fmt}, {bits} bits, {channels} channels")
        elif chunk_id == b"data":
            if not rate:
                raise TTSError("WAV data before its format chunk")
            payload = data[body : min(len(data), body + size)]
            payload = payload[: len(payload) // 2 * 2]
            return rate, np.frombuffer(payload, dtype="<i2").astype(np.int16)
        offset = body + size + (size & 1)
    raise TTSError("WAV stream without a data chunk")


class EspeakTTS(TextToSpeech):
    """Runs `espeak-ng --stdout` per sentence; the text goes in on stdin so it is never parsed as options."""

    name = "espeak"
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        voice: str = "en-us",
        words_per_minute: int = 165,
        *,
        binary: str = "espeak-ng",
        timeout_s: float = 10.0,
    ) -> None:
        self._voice = voice
        self._wpm = words_per_minute
        self._binary = binary
        self._timeout_s = timeout_s

    @staticmethod
    def available(binary: str = "espeak-ng") -> bool:
        return shutil.which(binary) is not None

    async def synthesize(self, text: str) -> Int16Array:
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        try:
            process = await asyncio.create_subprocess_exec(
                self._binary,
                "--stdout",
                "-v",
                self._voice,
                "-s",
                str(self._wpm),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise TTSError(f"{self._binary} is not installed (apt-get install espeak-ng)") from exc
        try:
            stdout, stderr = await asyncio.wait_for(
                process.communicate(text.encode("utf-8")), self._timeout_s
            )
        except BaseException:
            # Timed out or cancelled (barge-in): do not leave the process behind.
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
        if process.returncode != 0:
            raise TTSError(
                f"espeak-ng exited with {process.returncode}: {stderr.decode(errors='replace').strip()}"
            )
        rate, samples = parse_wav_stream(stdout)
        if rate != self.sample_rate:
            raise TTSError(f"espeak-ng wrote {rate} Hz, expected {self.sample_rate}")
        return samples
