"""LiveKit rooms without a server: a LiveKitRoomCall wired to local tracks, and a caller that hears the agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

from telephony.livekit.room_call import CallControl, LiveKitRoomCall

RATE = 16000
FRAME = 320  # 20 ms at 16 kHz


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait until `condition()` holds (real-time audio arrives when it arrives); fail after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


class RecordingControl(CallControl):
    """Server-side call control that records what the call asked for (no LiveKit server here)."""

    def __init__(self, *, transfer_ok: bool = True, transfer_raises: bool = False) -> None:
        self.removed = 0
        self.left = 0
        self.transfers: list[str] = []
        self._transfer_ok = transfer_ok
        self._transfer_raises = transfer_raises

    async def remove_caller(self) -> None:
        self.removed += 1

    async def transfer_caller(self, target: str) -> bool:
        self.transfers.append(target)
        if self._transfer_raises:
            raise ConnectionError("LiveKit unreachable")
        return self._transfer_ok

    async def leave(self) -> None:
        self.left += 1


@dataclass
class LocalRoom:
    """Both ends of one call on local tracks: what the caller says in, what the caller hears out."""

    call: LiveKitRoomCall
    control: RecordingControl
    caller_mic: rtc.AudioSource
    heard: list[np.ndarray] = field(default_factory=list)  # 20 ms frames the caller heard, in order

    async def say(self, samples: np.ndarray) -> None:
        """The caller speaks: 20 ms frames into the caller's track, paced by the source."""
        for start in range(0, samples.size, FRAME):
            chunk = samples[start : start + FRAME].astype(np.int16)
            await self.caller_mic.capture_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, chunk.size))

    def heard_audio(self) -> np.ndarray:
        return np.concatenate(self.heard) if self.heard else np.zeros(0, np.int16)


@asynccontextmanager
async def local_room(
    *,
    call_id: str = "call-test",
    caller_id: str | None = "+15551230000",
    allow_list: tuple[str, ...] = (),
    control: RecordingControl | None = None,
) -> AsyncIterator[LocalRoom]:
    """A LiveKitRoomCall whose caller audio is a local track and whose agent track a test listens to."""
    caller_mic = rtc.AudioSource(RATE, 1, queue_size_ms=100)
    caller_track = rtc.LocalAudioTrack.create_audio_track("caller", caller_mic)
    caller_stream = rtc.AudioStream.from_track(
        track=caller_track, sample_rate=RATE, num_channels=1, frame_size_ms=20
    )
    agent_voice = rtc.AudioSource(RATE, 1, queue_size_ms=200)
    agent_track = rtc.LocalAudioTrack.create_audio_track("agent", agent_voice)
    ear = rtc.AudioStream.from_track(track=agent_track, sample_rate=RATE, num_channels=1, frame_size_ms=20)
    control = control or RecordingControl()
    call = LiveKitRoomCall(
        call_id=call_id,
        caller_audio=caller_stream,
        agent_audio=agent_voice,
        control=control,
        caller_id=caller_id,
        input_rate=RATE,
        transfer_allow_list=allow_list,
    )
    room = LocalRoom(call=call, control=control, caller_mic=caller_mic)

    async def listen() -> None:
        async for event in ear:
            room.heard.append(np.frombuffer(event.frame.data, dtype=np.int16).copy())

    listener = asyncio.create_task(listen())
    try:
        yield room
    finally:
        call.caller_left()
        await ear.aclose()
        await listener
        await caller_stream.aclose()
        await caller_mic.aclose()
        await agent_voice.aclose()
