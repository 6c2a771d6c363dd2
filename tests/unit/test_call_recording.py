"""Call recording: caller on the left, agent on the right where the caller heard it, barge-in cuts, rates."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from agent.audio.frames import AudioFrame, samples_per_frame
from agent.calls.io import CallIO, DtmfDigit
from agent.calls.playout import Playout
from agent.calls.recording import RecordingCallIO
from telephony.replay import CallerTurn, ReplayCall

pytestmark = pytest.mark.unit

Int16Array = npt.NDArray[np.int16]


class PhoneLine(CallIO):
    """A call the test drives frame by frame; each caller frame also plays 20 ms of the call's playout (as a
    paced transport does), and `heard` keeps what the caller heard, frame by frame."""

    def __init__(self, *, input_rate: int = 16000, output_rate: int = 16000) -> None:
        self.call_id = "line-1"
        self.caller_id = "+15550142233"
        self.input_rate = input_rate
        self.output_rate = output_rate
        self._playout = Playout(output_rate)
        self.inbox: asyncio.Queue[Int16Array | None] = asyncio.Queue()
        self.digits: asyncio.Queue[DtmfDigit | None] = asyncio.Queue()
        self.heard: list[Int16Array] = []
        self.hung_up = False
        self.transfers: list[str] = []

    async def frames(self) -> AsyncIterator[AudioFrame]:
        while (samples := await self.inbox.get()) is not None:
            self.heard.append(self.playout.pull(samples_per_frame(self.output_rate)))
            yield AudioFrame(samples, self.input_rate)

    async def dtmf(self) -> AsyncIterator[DtmfDigit]:
        while (digit := await self.digits.get()) is not None:
            yield digit

    def now(self) -> float:
        return len(self.heard) * 0.02

    async def hangup(self) -> None:
        self.hung_up = True
        self.playout.close()

    async def transfer(self, target: str) -> bool:
        self.transfers.append(target)
        return True


class Caller:
    """Speaks into a recorded PhoneLine one 20 ms frame at a time, through the recorder's frames()."""

    def __init__(self, line: PhoneLine, recorder: RecordingCallIO) -> None:
        self.line = line
        self.frames = recorder.frames()

    async def say(self, frames: int, value: int = 0) -> None:
        for _ in range(frames):
            await self.line.inbox.put(np.full(samples_per_frame(self.line.input_rate), value, np.int16))
            await anext(self.frames)

    async def hang_up(self) -> None:
        await self.line.inbox.put(None)
        async for _ in self.frames:
            pass


def read_stereo(path: Path) -> tuple[int, Int16Array, Int16Array]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 2
        assert wav.getsampwidth() == 2
        rate = wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    return rate, data[:, 0].astype(np.int16), data[:, 1].astype(np.int16)


def constant(value: int, samples: int) -> Int16Array:
    return np.full(samples, value, np.int16)


def tone(frequency: float, rate: int, seconds: float) -> Int16Array:
    t = np.arange(round(rate * seconds)) / rate
    return (np.sin(2 * np.pi * frequency * t) * 10000).astype(np.int16)


def rms(samples: Int16Array) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


async def test_caller_on_the_left_and_agent_on_the_right_where_it_was_heard(tmp_path: Path) -> None:
    line = PhoneLine()
    recorder = RecordingCallIO(line)
    caller = Caller(line, recorder)
    await caller.say(10, value=100)  # 0.2 s of caller: samples 0..3199
    await recorder.play(constant(500, 1600))  # heard from 0.2 s on
    await recorder.play(constant(600, 800))  # queued behind it
    await caller.say(20)  # 0.4 s more; the agent's 2400 samples play out meanwhile
    await recorder.play(constant(700, 320))  # nothing queued: heard from the caller's 0.6 s on
    await caller.say(5)
    await caller.hang_up()

    rate, left, right = read_stereo(await recorder.save(tmp_path / "calls" / "2027" / "line-1.wav"))

    assert rate == 16000
    expected_left = np.concatenate([constant(100, 3200), constant(0, 8000)])
    np.testing.assert_array_equal(left, expected_left)
    np.testing.assert_array_equal(right, np.concatenate(line.heard))  # exactly what the caller heard
    np.testing.assert_array_equal(right[3200:4800], constant(500, 1600))
    np.testing.assert_array_equal(right[4800:5600], constant(600, 800))
    np.testing.assert_array_equal(right[9600:9920], constant(700, 320))
    assert not right[:3200].any() and not right[5600:9600].any()


async def test_a_barge_in_clear_keeps_only_the_audio_that_was_played(tmp_path: Path) -> None:
    line = PhoneLine()
    recorder = RecordingCallIO(line)
    caller = Caller(line, recorder)
    await caller.say(5)
    await recorder.play(constant(900, 16000))  # a one-second reply...
    await caller.say(10, value=300)  # ...the caller talks over it after 0.2 s
    dropped = recorder.clear()
    await caller.say(10)
    await caller.hang_up()

    _, left, right = read_stereo(await recorder.save(tmp_path / "barge.wav"))

    assert dropped == 16000 - 3200
    assert int(np.count_nonzero(right)) == 3200  # only the 0.2 s that was played is in the recording
    np.testing.assert_array_equal(right, np.concatenate(line.heard))
    assert left.size == 25 * 320


async def test_a_replay_call_with_a_barge_in_is_recorded_as_heard(tmp_path: Path) -> None:
    rate = 16000
    burst = tone(300, rate, 0.6)
    replay = ReplayCall(
        [CallerTurn(burst, pause_before_s=0.3), CallerTurn(burst, barge_in_after_s=0.4)],
        input_rate=rate,
        output_rate=rate,
        hangup_after_s=0.3,
        max_call_s=30,
    )
    recorder = RecordingCallIO(replay)
    await recorder.play(tone(600, rate, 0.5))  # the greeting; the scripted caller answers it
    talking = False
    quiet_frames = 0
    async for frame in recorder.frames():  # a minimal session: reply after each turn, stop on barge-in
        loud = rms(frame.samples) > 1000
        if loud and recorder.queued_samples:
            recorder.clear()
        if talking and not loud:
            quiet_frames += 1
            if quiet_frames == 10:
                talking = False
                await recorder.play(tone(800, rate, 1.5))
        elif loud:
            talking, quiet_frames = True, 0

    _, left, right = read_stereo(await recorder.save(tmp_path / "replay.wav"))

    heard = np.concatenate(replay.log.agent)[: left.size]
    np.testing.assert_array_equal(left, np.concatenate(replay.log.caller))
    np.testing.assert_array_equal(right, np.pad(heard, (0, left.size - heard.size)))
    assert len(replay.log.turn_starts_s) == 2
    agent_speech = round(0.5 * rate) + 2 * round(1.5 * rate)
    assert round(0.5 * rate) < np.count_nonzero(right) < agent_speech - rate  # one reply was cut short


async def test_different_input_and_output_rates_line_up_in_time(tmp_path: Path) -> None:
    line = PhoneLine(input_rate=8000, output_rate=24000)
    recorder = RecordingCallIO(line)
    caller = Caller(line, recorder)
    await caller.say(25, value=200)  # 0.5 s of caller at 8 kHz
    await recorder.play(tone(1000, 24000, 0.5))  # heard from 0.5 s to 1.0 s
    await caller.say(50)
    await caller.hang_up()

    rate, left, right = read_stereo(await recorder.save(tmp_path / "rates.wav"))

    assert rate == 8000
    assert left.size == right.size == 75 * 160
    assert (left[:4000] == 200).all() and not left[4000:].any()
    assert rms(right[:3900]) < 50
    assert rms(right[4100:7900]) > 5000
    assert rms(right[8100:]) < 50


async def test_hanging_up_drops_agent_audio_the_caller_never_heard(tmp_path: Path) -> None:
    line = PhoneLine()
    recorder = RecordingCallIO(line)
    caller = Caller(line, recorder)
    await recorder.play(constant(400, 16000))
    await caller.say(5)
    await recorder.hangup()
    await recorder.play(constant(400, 1600))  # too late: the call is over
    await caller.hang_up()

    _, left, right = read_stereo(await recorder.save(tmp_path / "hangup.wav"))

    assert line.hung_up
    assert left.size == right.size == 1600
    np.testing.assert_array_equal(right, constant(400, 1600))


async def test_the_recording_stops_at_its_cap_while_the_call_goes_on(tmp_path: Path) -> None:
    line = PhoneLine()
    recorder = RecordingCallIO(line, max_duration_s=0.1)
    caller = Caller(line, recorder)
    await caller.say(10, value=50)  # 0.2 s: every frame still reaches the session
    await recorder.play(constant(800, 8000))
    await caller.say(5)
    await caller.hang_up()

    _, left, right = read_stereo(await recorder.save(tmp_path / "capped.wav"))

    assert recorder.capped
    assert left.size == right.size == 1600
    assert (left == 50).all() and not right.any()  # the reply came after the cap
    assert line.played_samples == 1600  # the call itself went on
    assert len(line.heard) == 15


async def test_everything_but_the_audio_passes_straight_through() -> None:
    line = PhoneLine(input_rate=8000, output_rate=24000)
    recorder = RecordingCallIO(line)
    caller = Caller(line, recorder)

    assert (recorder.call_id, recorder.caller_id) == ("line-1", "+15550142233")
    assert (recorder.input_rate, recorder.output_rate) == (8000, 24000)
    await recorder.play(constant(1, 960))
    assert recorder.queued_samples == 960
    await caller.say(1)
    assert (recorder.played_samples, recorder.queued_samples) == (480, 480)
    assert recorder.now() == pytest.approx(0.02)
    await caller.say(1)
    await asyncio.wait_for(recorder.wait_played(), 1)  # the line's one playout: drained once it was heard
    assert await recorder.transfer("sip:service@192.0.2.10")
    assert line.transfers == ["sip:service@192.0.2.10"]
    await line.digits.put(DtmfDigit("5", 0.5))
    await line.digits.put(None)
    assert [digit.digit async for digit in recorder.dtmf()] == ["5"]
    async with recorder.working():
        pass


async def test_save_writes_an_empty_but_valid_file_for_a_call_with_no_audio(tmp_path: Path) -> None:
    recorder = RecordingCallIO(PhoneLine())
    path = await recorder.save(str(tmp_path / "deep" / "er" / "empty.wav"))
    rate, left, right = read_stereo(path)
    assert path == tmp_path / "deep" / "er" / "empty.wav"
    assert rate == 16000 and left.size == right.size == 0


async def test_a_long_call_with_long_replies_comes_out_sample_exact(tmp_path: Path) -> None:
    line = PhoneLine()
    recorder = RecordingCallIO(line)
    caller = Caller(line, recorder)
    rng = np.random.default_rng(7)
    for _ in range(4):  # 20 s replies streamed in 0.5 s chunks, each interrupted after 12 s
        await caller.say(25, value=int(rng.integers(1, 1000)))
        for _ in range(40):
            await recorder.play(rng.integers(-8000, 8000, 8000).astype(np.int16))
        await caller.say(600)
        recorder.clear()
    await caller.hang_up()

    _, left, right = read_stereo(await recorder.save(tmp_path / "long.wav"))

    assert left.size == 4 * 625 * 320
    np.testing.assert_array_equal(right, np.concatenate(line.heard))


async def test_why_the_media_ended_is_the_transports_word() -> None:
    line = PhoneLine()
    recorder = RecordingCallIO(line)
    assert recorder.ended_by is None
    line.ended_by = "timeout"
    assert recorder.ended_by == "timeout"
    recorder.ended_by = "caller"
    assert line.ended_by == "caller"
