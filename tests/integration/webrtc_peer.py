"""A browser stand-in for the WebRTC tests: an aiortc peer that speaks a WAV and keeps what the agent says."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from agent.audio.resample import resample
from agent.audio.wav import read_wav
from telephony.webrtc import mono_samples

RATE = 48000
FRAME = RATE // 50
Int16Array = npt.NDArray[np.int16]


class WavVoice(MediaStreamTrack):
    """Silence for `lead_s`, then the WAV, then silence forever: a caller at a microphone, paced at 20 ms."""

    kind = "audio"

    def __init__(self, wav: Path, lead_s: float) -> None:
        super().__init__()
        samples, rate = read_wav(wav)
        spoken = resample(samples, rate, RATE)
        lead = np.zeros(round(lead_s * RATE), np.int16)
        self._audio = np.concatenate([lead, spoken])
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            await asyncio.sleep(max(0.0, self._start + self._pts / RATE - time.monotonic()))
        chunk = self._audio[self._pts : self._pts + FRAME]
        if chunk.size < FRAME:
            chunk = np.concatenate([chunk, np.zeros(FRAME - chunk.size, np.int16)])
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(chunk.tobytes())
        frame.pts = self._pts
        frame.sample_rate = RATE
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


class BrowserPeer:
    """One RTCPeerConnection that offers audio (sendrecv), posts the offer, and records the agent's track."""

    def __init__(self, wav: Path, lead_s: float = 4.0) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(WavVoice(wav, lead_s))
        self.heard: list[Int16Array] = []
        self.track_ended = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                self.heard.append(resample(mono_samples(frame), int(frame.sample_rate), 16000))
        except MediaStreamError:
            self.track_ended.set()

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def call(self, http: TestClient[Any, Any], session_id: str) -> dict[str, Any]:
        """POST the offer, apply the answer; returns the response body."""
        response = await http.post(
            "/api/voice/webrtc", json={"session_id": session_id, "sdp": await self.offer(), "type": "offer"}
        )
        body: dict[str, Any] = await response.json()
        assert response.status == 200, body
        await self.pc.setRemoteDescription(RTCSessionDescription(body["sdp"], body["type"]))
        return body

    def heard_audio(self) -> Int16Array:
        """Everything received so far, 16 kHz mono."""
        return np.concatenate(self.heard) if self.heard else np.zeros(0, np.int16)

    async def close(self) -> None:
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def loudest_rms(samples: Int16Array, window: int = 1600) -> float:
    """The loudest 100 ms window's RMS (0..1): speech is well above 0.01, silence and comfort noise below."""
    usable = samples[: samples.size - samples.size % window].astype(np.float64) / 32768.0
    if usable.size == 0:
        return 0.0
    return float(np.sqrt((usable.reshape(-1, window) ** 2).mean(axis=1)).max())
