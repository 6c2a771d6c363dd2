"""Turning a caller away when every line is busy: a short spoken message, a callback booked, then hang up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from agent.audio.resample import resample
from agent.calls.io import CallIO
from agent.log import get_logger
from agent.speech.tts import Int16Array, TextToSpeech
from agent.store.callbacks import Callbacks
from agent.store.models import Callback

log = get_logger(__name__)

CALL_BACK = (
    "Thanks for calling. All of our lines are busy right now, so we'll call you back at this number {when}. "
    "Goodbye."
)
CALL_AGAIN = (
    "Thanks for calling. All of our lines are busy right now. Please call again in a few minutes. Goodbye."
)
PLAYOUT_SLACK_S = 5.0  # how much longer than the message itself a caller's line may take to play it


def spoken_delay(seconds: int) -> str:
    """'in about 15 minutes', 'in about an hour', 'shortly': when the callback will come, for the ear."""
    minutes = round(seconds / 60)
    if minutes < 2:
        return "shortly"
    if minutes == 60:
        return "in about an hour"
    return f"in about {minutes} minutes"


@dataclass
class BusyLine:
    """What a process says to the caller it has no line for. Shared by every transport with a cap."""

    tts: TextToSpeech
    callbacks: Callbacks | None = None
    callback_after_s: int = 900
    _spoken: dict[tuple[str, int], Int16Array] = field(default_factory=dict, init=False, repr=False)

    async def turn_away(self, io: CallIO) -> Callback | None:
        """Book a callback to the caller's number (when it is known), tell them, hang up. Never raises."""
        callback = await self._book_callback(io)
        text = CALL_BACK.format(when=spoken_delay(self.callback_after_s)) if callback else CALL_AGAIN
        try:
            audio = await self._audio(text, io.output_rate)
            await io.play(audio)
            await asyncio.wait_for(io.wait_played(), audio.size / io.output_rate + PLAYOUT_SLACK_S)
        except Exception as exc:  # the caller is turned away all the same
            log.warning("busy_message_not_played", call_id=io.call_id, error=repr(exc))
        finally:
            await io.hangup()
        return callback

    async def _book_callback(self, io: CallIO) -> Callback | None:
        if self.callbacks is None or not io.caller_id:
            return None
        due = datetime.now(self.callbacks.tz) + timedelta(seconds=self.callback_after_s)
        try:
            return await self.callbacks.schedule(
                session_id=io.call_id, phone=io.caller_id, name=None, reason="all lines were busy", due_at=due
            )
        except Exception as exc:
            log.warning("busy_callback_not_booked", call_id=io.call_id, error=repr(exc))
            return None

    async def _audio(self, text: str, rate: int) -> Int16Array:
        """The message at the line's rate, synthesised once per process and rate."""
        key = (text, rate)
        if key not in self._spoken:
            audio = await self.tts.synthesize(text)
            if audio.size and self.tts.sample_rate != rate:
                audio = await asyncio.to_thread(resample, audio, self.tts.sample_rate, rate)
            self._spoken[key] = np.asarray(audio, dtype=np.int16)
        return self._spoken[key]
