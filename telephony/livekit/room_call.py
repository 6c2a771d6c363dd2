"""LiveKitRoomCall: a LiveKit room's SIP caller as a CallIO (caller track in, agent track out, DTMF)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping

import numpy as np
import numpy.typing as npt
from livekit import rtc

from agent.audio.frames import AudioFrame, Reframer, samples_per_frame
from agent.calls.io import CallIO, DtmfDigit
from agent.calls.playout import Playout
from agent.log import get_logger
from telephony.transfer_policy import is_transfer_allowed

Int16Array = npt.NDArray[np.int16]

log = get_logger(__name__)

# livekit-sip puts the caller's number in this participant attribute.
CALLER_NUMBER_ATTRIBUTE = "sip.phoneNumber"


def caller_number(attributes: Mapping[str, str]) -> str | None:
    """The caller's phone number from a SIP participant's attributes (None when withheld)."""
    number = attributes.get(CALLER_NUMBER_ATTRIBUTE, "").strip()
    return number or None


class CallControl(ABC):
    """What only the LiveKit server can do for a call: drop the caller, transfer them, leave the room."""

    @abstractmethod
    async def remove_caller(self) -> None:
        """Hang up on the caller (remove the SIP participant from the room)."""

    @abstractmethod
    async def transfer_caller(self, target: str) -> bool:
        """Cold-transfer the caller (SIP REFER); True when the far end took the call."""

    @abstractmethod
    async def leave(self) -> None:
        """Disconnect the agent from the room."""


class LiveKitRoomCall(CallIO):
    """Caller audio from an `rtc.AudioStream`; agent audio paced out by an `rtc.AudioSource`.

    The source holds at most `queue_size_ms` of audio and `capture_frame` waits for room in it, so a
    playout task feeds it 20 ms at a time from our own queue. What the caller has heard is what went
    into the source minus what the source still holds; `clear()` drops both queues at once.
    """

    def __init__(
        self,
        *,
        call_id: str,
        caller_audio: rtc.AudioStream,
        agent_audio: rtc.AudioSource,
        control: CallControl,
        caller_id: str | None = None,
        input_rate: int = 16000,
        transfer_allow_list: tuple[str, ...] = (),
    ) -> None:
        self.call_id = call_id
        self.caller_id = caller_id
        self.caller_verified = caller_id is not None  # LiveKit SIP: the number comes from our own trunk
        self.input_rate = input_rate
        self.output_rate = agent_audio.sample_rate
        self._caller_audio = caller_audio
        self._source = agent_audio
        self._control = control
        self._allow_list = transfer_allow_list
        self._received = 0  # caller samples delivered: the media clock
        self._playout = Playout(self.output_rate, downstream=self._in_source, flush=self._flush_source)
        self._playout.observe(on_push=self._audio_queued)
        self._feeder: asyncio.Task[None] | None = (
            None  # hands the playout's audio to the source, 20 ms at a time
        )
        self._dtmf: asyncio.Queue[DtmfDigit | None] = asyncio.Queue()
        self._ended = False
        self._hung_up = False
        self._media_closed: asyncio.Task[None] | None = None

    # Caller side -------------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[AudioFrame]:
        framer = Reframer(self.input_rate)
        async for event in self._caller_audio:
            if self._ended:
                break
            frame = event.frame
            if frame.sample_rate != self.input_rate:
                raise ValueError(f"caller audio at {frame.sample_rate} Hz, expected {self.input_rate}")
            samples = np.frombuffer(frame.data, dtype=np.int16)
            if frame.num_channels > 1:
                samples = samples[:: frame.num_channels]
            for out in framer.push(samples.copy()):
                self._received += out.num_samples
                yield out
        self.caller_left()

    async def dtmf(self) -> AsyncIterator[DtmfDigit]:
        while (digit := await self._dtmf.get()) is not None:
            yield digit

    def on_dtmf(self, digit: str) -> None:
        """A keypad digit from the caller (the room's `sip_dtmf_received` event)."""
        if not self._ended and digit:
            self._dtmf.put_nowait(DtmfDigit(digit=digit, at_s=self.now()))

    def caller_left(self) -> None:
        """The caller hung up or left the room: end frames() and dtmf(), drop unplayed audio."""
        if self._ended:
            return
        self._ended = True
        self.clear()
        self.playout.close()
        self._dtmf.put_nowait(None)
        self._media_closed = asyncio.get_running_loop().create_task(self._caller_audio.aclose())

    def now(self) -> float:
        return self._received / self.input_rate

    # Agent side --------------------------------------------------------------------------------
    def _audio_queued(self, _samples: Int16Array) -> None:
        if self._feeder is None and not self._ended:
            self._feeder = asyncio.get_running_loop().create_task(self._feed_source())

    def _in_source(self) -> int:
        return round(self._source.queued_duration * self.output_rate)

    def _flush_source(self) -> None:
        if self._feeder is not None:
            self._feeder.cancel()  # a frame waiting for room in the source is dropped with the rest
            self._feeder = None
        self._source.clear_queue()

    async def _feed_source(self) -> None:
        """The source holds at most `queue_size_ms` and `capture_frame` waits for room: feed it 20 ms at a time."""
        frame_samples = samples_per_frame(self.output_rate)
        while True:
            while self.playout.queued:
                chunk = self.playout.take(frame_samples)
                frame = rtc.AudioFrame(chunk.tobytes(), self.output_rate, 1, int(chunk.size))
                await self._source.capture_frame(frame)
            await self._source.wait_for_playout()
            if not self.playout.queued:
                self._feeder = None
                self.playout.settle(downstream_empty=True)
                return

    # Call control ------------------------------------------------------------------------------
    async def hangup(self) -> None:
        if self._hung_up:
            return
        self._hung_up = True
        was_live = not self._ended
        self.caller_left()
        if was_live:
            try:
                await self._control.remove_caller()
            except Exception as exc:  # the caller may already be gone; we are leaving either way
                log.warning("livekit_remove_caller_failed", call_id=self.call_id, error=str(exc))
        if self._media_closed is not None:
            await self._media_closed
        try:
            await self._control.leave()
        except Exception as exc:  # hang-up must always complete: the session is over either way
            log.warning("livekit_leave_failed", call_id=self.call_id, error=str(exc))

    async def transfer(self, target: str) -> bool:
        if self._ended:
            return False
        if not is_transfer_allowed(target, self._allow_list):
            log.warning("livekit_transfer_refused", call_id=self.call_id, target=target)
            return False
        try:
            moved = await self._control.transfer_caller(target)
        except Exception as exc:
            log.warning("livekit_transfer_failed", call_id=self.call_id, target=target, error=str(exc))
            return False
        log.info("livekit_transfer", call_id=self.call_id, target=target, ok=moved)
        return moved
