"""LiveKitRoomCall on local LiveKit tracks (AudioSource -> LocalAudioTrack -> AudioStream), no server."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from telephony.livekit.room_call import caller_number
from tests.livekit_local import FRAME, RATE, RecordingControl, eventually, local_room

pytestmark = pytest.mark.unit


def numbered_frames(count: int, first: int = 100) -> np.ndarray:
    """`count` 20 ms frames, frame i filled with the value first + i: order and loss are visible."""
    return np.repeat(np.arange(first, first + count, dtype=np.int16), FRAME)


def frame_values(audio: np.ndarray) -> list[int]:
    """The distinct non-silent values heard, in order (what numbered_frames put in)."""
    values: list[int] = []
    for value in audio[audio != 0].tolist():
        if not values or values[-1] != value:
            values.append(int(value))
    return values


async def test_agent_audio_comes_out_of_the_published_track_in_order() -> None:
    async with local_room() as room:
        reply = numbered_frames(15)
        await room.call.play(reply)
        async with asyncio.timeout(5):
            await room.call.wait_played()
        await eventually(lambda: int(np.count_nonzero(room.heard_audio())) >= reply.size)
        heard = room.heard_audio()
        assert frame_values(heard) == list(range(100, 115))
        assert np.count_nonzero(heard) == reply.size
        assert room.call.played_samples == reply.size
        assert room.call.queued_samples == 0


async def test_caller_audio_arrives_as_exact_20ms_frames_and_drives_media_time() -> None:
    async with local_room() as room:
        speech = numbered_frames(50, first=300)  # one second
        frames = []

        async def collect() -> None:
            async for frame in room.call.frames():
                frames.append(frame)
                if np.count_nonzero(np.concatenate([f.samples for f in frames])) >= speech.size:
                    return

        async with asyncio.timeout(5):
            await asyncio.gather(collect(), room.say(speech))
        assert all(f.sample_rate == RATE and f.num_samples == FRAME for f in frames)
        said = np.concatenate([f.samples for f in frames])
        assert frame_values(said) == list(range(300, 350))
        assert room.call.now() == pytest.approx(len(frames) * FRAME / RATE)
        assert room.call.now() >= 1.0


async def test_clear_drops_queued_agent_audio_and_the_caller_hears_silence_after() -> None:
    async with local_room() as room:
        reply = numbered_frames(100)  # two seconds
        await room.call.play(reply)
        await eventually(lambda: room.call.played_samples >= 10 * FRAME)
        dropped = room.call.clear()
        played = room.call.played_samples
        assert dropped > 0
        assert played + dropped == reply.size
        assert room.call.queued_samples == 0
        async with asyncio.timeout(1):
            await room.call.wait_played()  # nothing left to wait for
        heard_at_clear = len(room.heard)
        await eventually(lambda: len(room.heard) >= heard_at_clear + 15)
        after = np.concatenate(room.heard[heard_at_clear + 5 :])
        assert not after.any(), "agent audio kept playing after clear()"
        assert np.count_nonzero(room.heard_audio()) < reply.size // 2
        # The next reply plays normally.
        await room.call.play(numbered_frames(3, first=900))
        async with asyncio.timeout(5):
            await room.call.wait_played()
        await eventually(lambda: 902 in room.heard_audio())


async def test_dtmf_digits_reach_dtmf_in_order_and_end_with_the_call() -> None:
    async with local_room() as room:
        for digit in "5", "0", "#":
            room.call.on_dtmf(digit)
        room.call.caller_left()
        room.call.on_dtmf("9")  # after the caller left: ignored
        async with asyncio.timeout(2):
            digits = [d.digit async for d in room.call.dtmf()]
        assert digits == ["5", "0", "#"]


async def test_hangup_removes_the_caller_leaves_the_room_and_ends_frames_once() -> None:
    async with local_room() as room:
        frames_done = asyncio.Event()

        async def consume() -> None:
            async for _ in room.call.frames():
                pass
            frames_done.set()

        consumer = asyncio.create_task(consume())
        await room.say(numbered_frames(3))
        async with asyncio.timeout(5):
            await room.call.hangup()
            await room.call.hangup()
            await frames_done.wait()
        await consumer
        assert (room.control.removed, room.control.left) == (1, 1)
        await room.call.play(numbered_frames(2))
        assert room.call.queued_samples == 0


async def test_caller_hanging_up_first_is_not_removed_again() -> None:
    async with local_room() as room:
        room.call.caller_left()
        async with asyncio.timeout(5):
            await room.call.hangup()
        assert (room.control.removed, room.control.left) == (0, 1)


async def test_transfer_goes_only_to_allow_listed_targets() -> None:
    allowed = ("sip:sarah@10.0.0.5",)
    async with local_room(allow_list=allowed) as room:
        assert await room.call.transfer("sip:sarah@10.0.0.5")
        assert not await room.call.transfer("sip:+19005550100@evil.example")
        assert not await room.call.transfer("tel:+19005550100")
        assert room.control.transfers == ["sip:sarah@10.0.0.5"]
    failing = RecordingControl(transfer_raises=True)
    async with local_room(allow_list=allowed, control=failing) as room:
        assert not await room.call.transfer("sip:sarah@10.0.0.5")


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [({"sip.phoneNumber": "+15551230000"}, "+15551230000"), ({"sip.phoneNumber": " "}, None), ({}, None)],
)
def test_caller_number_comes_from_the_sip_participant_attributes(
    attributes: dict[str, str], expected: str | None
) -> None:
    assert caller_number(attributes) == expected
