"""A browser stand-in for the WebRTC tests: an aiortc peer that speaks a WAV and keeps what the agent says.

Run as a module (python -m tests.integration.webrtc_peer WAV) it is a browser in a process of its own, for a test
to kill mid-call: see BrowserProcess.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import sys
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
from telephony.webrtc import mono_samples, use_host_addresses

RATE = 48000
FRAME = RATE // 50
ROOT = Path(__file__).resolve().parents[2]
LINE_TAG = "PEER "  # the child's protocol lines on stdout (anything else there is not ours)
Int16Array = npt.NDArray[np.int16]


def speech_end(samples: Int16Array, quiet: float = 0.01) -> int:
    """Where the last 20 ms frame louder than `quiet` (mean level, 0..1) ends: the recording's trailing silence
    cut off."""
    whole = samples[: samples.size - samples.size % FRAME].astype(np.float64) / 32768.0
    loud = np.flatnonzero(np.abs(whole).reshape(-1, FRAME).mean(axis=1) > quiet)
    return int(loud[-1] + 1) * FRAME if loud.size else 0


class WavVoice(MediaStreamTrack):
    """Silence for `lead_s`, then the WAV, then silence forever: a caller at a microphone, paced at 20 ms.
    `then_stop`: the microphone stops the moment the last word is said (the WAV's own trailing silence cut
    off), like a muted or stopped track or a browser that sends nothing while its caller is quiet."""

    kind = "audio"

    def __init__(self, wav: Path, lead_s: float, then_stop: bool = False) -> None:
        super().__init__()
        samples, rate = read_wav(wav)
        spoken = resample(samples, rate, RATE)
        if then_stop:
            spoken = spoken[: speech_end(spoken)]
        lead = np.zeros(round(lead_s * RATE), np.int16)
        self._audio = np.concatenate([lead, spoken])
        self._then_stop = then_stop
        self.stopped_sending = asyncio.Event()
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._then_stop and self._pts + FRAME >= self._audio.size:
            self.stop()  # aiortc's sender stops sending RTP; its RTCP reports go on
            self.stopped_sending.set()
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

    def __init__(
        self, wav: Path, lead_s: float = 4.0, *, stop_after_speaking: bool = False, muted: bool = False
    ) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.voice = WavVoice(wav, lead_s, then_stop=stop_after_speaking)
        if muted:  # joins with no microphone track at all: it never sends a single audio packet
            self.pc.addTransceiver("audio", direction="sendrecv")
        else:
            self.pc.addTrack(self.voice)
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


class BrowserProcess:
    """A browser in a process of its own, killed mid-call like a crashed tab: its sockets close with no DTLS
    close_notify and no DELETE, and nothing from it reaches the agent any more."""

    def __init__(self, wav: Path) -> None:
        self._wav = wav
        self._proc: asyncio.subprocess.Process | None = None

    async def _line(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            raw = await asyncio.wait_for(self._proc.stdout.readline(), 30)
            assert raw, "the browser process exited"
            text = raw.decode()
            if text.startswith(LINE_TAG):
                data: dict[str, Any] = json.loads(text[len(LINE_TAG) :])
                return data

    async def call(self, http: TestClient[Any, Any], session_id: str) -> dict[str, Any]:
        """Start the process, POST its offer, hand it the answer; returns once it is connected."""
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.webrtc_peer",
            str(self._wav),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        offer = (await self._line())["sdp"]
        response = await http.post(
            "/api/voice/webrtc", json={"session_id": session_id, "sdp": offer, "type": "offer"}
        )
        body: dict[str, Any] = await response.json()
        assert response.status == 200, body
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"{json.dumps({'sdp': body['sdp']})}\n".encode())
        await self._proc.stdin.drain()
        assert await self._line() == {"connected": True}
        return body

    async def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()


async def _browser_process(wav: Path) -> None:
    """The child's side: offer, apply the answer from stdin, say when connected, then stay until killed."""
    use_host_addresses(("127.0.0.1",))  # aioice leaves loopback out on its own
    peer = BrowserPeer(wav, lead_s=3600.0)
    connected = asyncio.Event()
    peer.pc.on("connectionstatechange", lambda: peer.pc.connectionState == "connected" and connected.set())
    print(LINE_TAG + json.dumps({"sdp": await peer.offer()}), flush=True)
    answer = json.loads(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    await peer.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    await connected.wait()
    print(LINE_TAG + json.dumps({"connected": True}), flush=True)
    await asyncio.Event().wait()


def went_quiet(samples: Int16Array, window_s: float = 1.0) -> bool:
    """The last `window_s` of what was heard (16 kHz) is silence: whatever the agent said is over."""
    tail = samples[-round(window_s * 16000) :]
    return tail.size == round(window_s * 16000) and loudest_rms(tail) < 0.005


def loudest_rms(samples: Int16Array, window: int = 1600) -> float:
    """The loudest 100 ms window's RMS (0..1): speech is well above 0.01, silence and comfort noise below."""
    usable = samples[: samples.size - samples.size % window].astype(np.float64) / 32768.0
    if usable.size == 0:
        return 0.0
    return float(np.sqrt((usable.reshape(-1, window) ** 2).mean(axis=1)).max())


if __name__ == "__main__":
    asyncio.run(_browser_process(Path(sys.argv[1])))
