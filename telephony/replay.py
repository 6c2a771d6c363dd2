"""ReplayCall: a scripted caller (WAV turns) as a CallIO, on a virtual clock or in real time, recording both sides."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent.audio.frames import FRAME_MS, AudioFrame, samples_per_frame
from agent.calls.io import CallIO, DtmfDigit
from agent.calls.playout import Playout

Int16Array = npt.NDArray[np.int16]


@dataclass(frozen=True)
class CallerTurn:
    audio: Int16Array  # at the call's input rate
    pause_before_s: float = 0.6  # silence after the agent stops before the caller speaks
    barge_in_after_s: float | None = None  # speak this long after the agent starts its reply instead


@dataclass
class ReplayLog:
    caller: list[Int16Array] = field(default_factory=list)
    agent: list[Int16Array] = field(default_factory=list)
    turn_starts_s: list[float] = field(default_factory=list)


class ReplayCall(CallIO):
    """One 20 ms tick moves both directions: a caller frame in, 20 ms of agent audio "played" out.

    On the virtual clock a tick happens only when no CPU work is in flight (`working()`), so the replay
    runs as fast as the machine allows and media time never includes our own processing.
    """

    def __init__(
        self,
        turns: list[CallerTurn],
        *,
        caller_id: str | None = None,
        input_rate: int = 16000,
        output_rate: int = 16000,
        realtime: bool = False,
        max_call_s: float = 300.0,
        hangup_after_s: float = 1.5,
        agent_quiet_s: float = 0.5,
        echo_gain: float = 0.0,
        echo_delay_ms: int = 40,
    ) -> None:
        self.call_id = f"replay-{secrets.token_hex(4)}"
        self.caller_id = caller_id
        self.input_rate = input_rate
        self.output_rate = output_rate
        self._turns = deque(turns)
        self._realtime = realtime
        self._max_call_s = max_call_s
        self._hangup_after_s = hangup_after_s
        self._agent_quiet_s = agent_quiet_s
        self._playout = Playout(output_rate)
        self._ticks = 0
        self._working = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._hung_up = False
        self._talking: Int16Array | None = None  # caller audio being spoken now
        self._talk_pos = 0
        self._last_agent_audio_tick = -1
        self._reply_mark: int | None = None  # played_samples when the agent's current reply began
        self._caller_done_tick = 0
        if echo_gain and input_rate != output_rate:
            raise ValueError("a simulated echo needs the same input and output rate")
        # A speakerphone: the caller's microphone also picks up the agent, a little later and quieter.
        self._echo_gain = echo_gain
        self._echo_frames = max(1, echo_delay_ms // FRAME_MS)
        self.log = ReplayLog()
        self.dtmf_queue: asyncio.Queue[DtmfDigit | None] = asyncio.Queue()

    # CallIO -----------------------------------------------------------------------------------------
    def now(self) -> float:
        return self._ticks * FRAME_MS / 1000

    async def play(self, samples: Int16Array) -> None:
        if self._hung_up or samples.size == 0:
            return
        if self.playout.pending == 0 and self._reply_mark is None:
            self._reply_mark = self.playout.played
        self.playout.push(samples)

    @contextlib.asynccontextmanager
    async def _work(self) -> AsyncIterator[None]:
        self._working += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._working -= 1
            if self._working == 0:
                self._idle.set()

    def working(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._work()

    async def hangup(self) -> None:
        self._hung_up = True
        self.playout.close()
        self.dtmf_queue.put_nowait(None)

    async def transfer(self, target: str) -> bool:
        return False

    async def dtmf(self) -> AsyncIterator[DtmfDigit]:
        while (digit := await self.dtmf_queue.get()) is not None:
            yield digit

    async def frames(self) -> AsyncIterator[AudioFrame]:
        frame_in = samples_per_frame(self.input_rate)
        started = time.monotonic()
        while not self._hung_up and self.now() < self._max_call_s:
            if self._realtime:
                await asyncio.sleep(max(0.0, started + self._ticks * FRAME_MS / 1000 - time.monotonic()))
            else:
                await asyncio.sleep(0)
                await self._idle.wait()
            self._play_tick(samples_per_frame(self.output_rate))
            samples = self._caller_frame(frame_in)
            if samples is None:
                break
            if self._echo_gain and len(self.log.agent) >= self._echo_frames:
                echo = self.log.agent[-self._echo_frames].astype(np.float32) * self._echo_gain
                samples = np.clip(samples.astype(np.float32) + echo, -32768, 32767).astype(np.int16)
            self._ticks += 1
            self.log.caller.append(samples)
            yield AudioFrame(samples, self.input_rate)
        await self.hangup()

    # The scripted caller ---------------------------------------------------------------------------
    def _play_tick(self, n: int) -> None:
        before = self.playout.sent
        out = self.playout.pull(n)
        if self.playout.sent > before:
            self._last_agent_audio_tick = self._ticks
        self.log.agent.append(out)

    def _agent_finished(self) -> bool:
        quiet_ticks = self._agent_quiet_s * 1000 / FRAME_MS
        return (
            self.playout.pending == 0
            and self._working == 0
            and self._last_agent_audio_tick > self._caller_done_tick
            and self._ticks - self._last_agent_audio_tick >= quiet_ticks
        )

    def _caller_frame(self, n: int) -> Int16Array | None:
        if self._talking is not None:
            chunk = self._talking[self._talk_pos : self._talk_pos + n]
            self._talk_pos += n
            if self._talk_pos >= self._talking.size:
                self._talking = None
                self._caller_done_tick = self._ticks
            return np.pad(chunk, (0, n - chunk.size))
        if self._turns:
            turn = self._turns[0]
            reply_played = (
                (self.playout.played - self._reply_mark) / self.output_rate
                if self._reply_mark is not None
                else 0
            )
            barge = (
                turn.barge_in_after_s is not None
                and self.playout.pending > 0
                and reply_played >= turn.barge_in_after_s
            )
            waited = (self._ticks - self._last_agent_audio_tick) * FRAME_MS / 1000
            if barge or (self._agent_finished() and waited >= turn.pause_before_s):
                self._turns.popleft()
                self._talking, self._talk_pos = turn.audio, 0
                self._reply_mark = None
                self.log.turn_starts_s.append(self.now())
        elif (
            self._agent_finished()
            and (self._ticks - self._last_agent_audio_tick) * FRAME_MS / 1000 >= self._hangup_after_s
        ):
            return None
        if self.playout.pending == 0:
            self._reply_mark = None
        return np.zeros(n, np.int16)
