"""Listener: a call's caller audio in (resampling, echo removal, VAD, pre-roll, Whisper, end of turn), events out."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from agent.audio.frames import AudioFrame, Reframer
from agent.audio.level import rms
from agent.audio.processing import ProcessingConfig
from agent.audio.resample import StreamResampler
from agent.audio.vad import SpeechEnded, VadConfig, VadState, VoiceActivityDetector
from agent.audio.vad import SpeechStarted as VadSpeechStarted
from agent.calls.echo_reference import EchoReference
from agent.calls.events import (
    Continuation,
    EmitEvent,
    InterimText,
    SpeechStarted,
    SpeechSustained,
    Tick,
    TurnLikely,
    UserTurn,
)
from agent.calls.interim import InterimTranscripts
from agent.calls.io import CallIO
from agent.calls.second_opinion import hear_again, hear_with_second_opinion, whisper_prompt, with_fives_heard
from agent.calls.turn_taking import TurnTakingConfig, required_silence
from agent.dialog.nlu.name_frequency import with_lost_s_restored
from agent.log import get_logger
from agent.speech.stt import SpeechToText, Transcript

log = get_logger(__name__)

Int16Array = npt.NDArray[np.int16]
STT_RATE = 16000
PRE_ROLL_FRAMES = 15  # 300 ms of audio kept before the VAD confirms speech
PHONE_BAND_RATE = 8000  # a G.711 call (300-3,400 Hz): most of an "s" is lost on it
TICK_FRAMES = 12  # a Tick every 240 ms of call time
TAIL_OVER_FRAMES = 5  # 100 ms under the tail level: the sound after a turn's speech has ended
MAX_LAST_LOOKS = 2  # decodes again of a turn for the sounds after it (once more if a second one follows)


@dataclass(frozen=True)
class ListenerConfig:
    vad: VadConfig
    turns: TurnTakingConfig
    processing: ProcessingConfig | None = None  # echo cancellation / noise suppression, when enabled
    interim_every_s: float | None = None  # publish partial caller text this often while they speak
    stt_hint: str | None = None  # names and words of this dealership, to steer Whisper's spelling


@dataclass
class PendingTurn:
    """An utterance that has ended, while Whisper decodes it and the end-of-turn silence runs."""

    audio: Int16Array
    end_s: float
    detect_s: float
    stt_task: asyncio.Task[Transcript]
    stt_started: float
    speech_s: float
    stt_ms: float | None = None
    tail_level: float = np.inf  # a frame after the decoded audio this loud is sound the VAD missed
    tail_loud: int = 0  # such frames since the last decode began
    tail_quiet: int = 0  # frames since the last of them
    looks: int = 0  # decodes again with the sounds after the speech end
    announced: bool = False  # a TurnLikely was sent for this decode

    def hear_tail(self, level: float) -> None:
        """One more 20 ms frame after the decoded audio, at this level."""
        if level >= self.tail_level:
            self.tail_loud, self.tail_quiet = self.tail_loud + 1, 0
        else:
            self.tail_quiet += 1

    def worth_a_last_look(self, *, wait_over: bool) -> bool:
        """Sound after the decoded audio (`tail_sound_level`), once its decode is done: decoded again as soon as
        that sound has ended (inside the end-of-turn silence), or when the silence is over."""
        if self.looks >= MAX_LAST_LOOKS or self.tail_loud < 2 or not self.stt_task.done():
            return False
        return wait_over or self.tail_quiet >= TAIL_OVER_FRAMES

    def taken_if_over(self, now_s: float, config: TurnTakingConfig, awaiting: str | None) -> UserTurn | None:
        """The turn, once Whisper is done and the caller has been quiet long enough for what they said."""
        if not self._decoded():
            return None
        if now_s - self.end_s < required_silence(config, self.stt_task.result().text, awaiting):
            return None
        return self._turn(now_s)

    def likely_turn(self, now_s: float, config: TurnTakingConfig, awaiting: str | None) -> UserTurn | None:
        """The turn as it will be taken, once per decode, when it is decoded and sounds finished (only the short
        end-of-turn silence is left to wait) and nothing has been heard after its speech."""
        if self.announced or self.tail_loud or not self._decoded():
            return None
        text = self.stt_task.result().text
        if not text.strip() or required_silence(config, text, awaiting) > config.end_silence_s:
            return None
        self.announced = True
        return self._turn(now_s)

    def _decoded(self) -> bool:
        if not self.stt_task.done():
            return False
        if self.stt_ms is None:
            self.stt_ms = (time.perf_counter() - self.stt_started) * 1000
        return True

    def _turn(self, now_s: float) -> UserTurn:
        transcript = self.stt_task.result()
        return UserTurn(
            text=transcript.text.strip(),
            speech_end_s=self.end_s,
            detect_wait_s=self.detect_s - self.end_s,
            stt_ms=self.stt_ms or 0.0,
            waited_s=now_s - self.end_s,
            speech_s=self.speech_s,
            avg_logprob=transcript.avg_logprob,
            audio=self.audio,
            second_opinion=transcript.second_opinion,
        )


def tail_sound_level(decoded: Int16Array, energy_threshold: float) -> float:
    """The level of a sound after `decoded` that the VAD did not count as speech, worth a last look (a final "six"
    after "987", its "s" no voice to webrtcvad; the quiet last syllable of "High-lan-[der]"): two 20 ms frames
    over the VAD's energy threshold and over either half the utterance's loud frames or four times its quiet ones
    (a line's steady noise, 10-20 dB under the voice, is not). Infinite for an utterance under one frame."""
    levels = _frame_levels(decoded)
    if levels.size == 0:
        return float(np.inf)
    above_quiet = 4 * float(np.percentile(levels, 10))
    return max(energy_threshold, min(0.5 * float(np.percentile(levels, 90)), above_quiet))


def _frame_levels(audio: Int16Array) -> npt.NDArray[np.float64]:
    """The RMS level (0..1) of each whole 20 ms frame of 16 kHz audio."""
    frames = audio[: audio.size - audio.size % 320].reshape(-1, 320)
    return np.array([rms(frame) for frame in frames], dtype=np.float64)


class Utterance:
    """The caller's audio: a rolling pre-roll while they are quiet, the whole utterance while they speak, and the
    last closed turn's audio (with what came after it) while the caller may still go on with it."""

    def __init__(self, rejoin_frames: int = 0) -> None:
        self._preroll: deque[Int16Array] = deque(maxlen=PRE_ROLL_FRAMES)
        self.frames: list[Int16Array] = []
        self._rejoin_frames = rejoin_frames  # how long after a close the turn may still be rejoined
        self._closed: list[Int16Array] = []
        self._since_close: list[Int16Array] = []

    def add(self, samples: Int16Array, *, keep: bool) -> None:
        if keep:
            if not self.frames:
                self.frames.extend(self._preroll)
            self.frames.append(samples)
        else:
            self._preroll.append(samples)
            if self._closed and len(self._since_close) < self._rejoin_frames:
                self._since_close.append(samples)

    def audio(self) -> Int16Array:
        return np.concatenate(self.frames) if self.frames else np.zeros(0, np.int16)

    def close(self) -> None:
        """The turn was taken: its audio is kept while the caller may still go on with it."""
        self._closed, self._since_close = (self.frames if self._rejoin_frames else []), []
        self.frames = []

    def rejoin(self) -> None:
        """The caller went on: the new utterance starts with the closed turn and the pause after it."""
        current = self.frames[-1:]  # the frame that confirmed speech (the pre-roll is in `_since_close`)
        self.frames = [*self._closed, *self._since_close, *current]
        self.forget_closed()

    def forget_closed(self) -> None:
        self._closed, self._since_close = [], []


class Listener:
    """Owns what the caller says. It never speaks and never sees the dialog: it emits events, and reads what
    the dialog is waiting for (`awaiting`, e.g. a phone number) to be patient in the right places."""

    def __init__(
        self,
        io: CallIO,
        stt: SpeechToText,
        config: ListenerConfig,
        emit: EmitEvent,
        *,
        awaiting: Callable[[], str | None] = lambda: None,
        call_over: asyncio.Event | None = None,
        second_stt: SpeechToText | None = None,
    ) -> None:
        self._io = io
        self._stt = stt
        self._second_stt = second_stt
        self._config = config
        self._emit = emit
        self._awaiting = awaiting
        self._call_over = call_over or asyncio.Event()
        self._vad = VoiceActivityDetector(config.vad)
        self._utterance = Utterance(round(config.turns.continuation_window_s * 1000 / 20))
        self._pending: PendingTurn | None = None
        self._speech_started_s: float | None = None
        self._closed: UserTurn | None = None  # the last turn taken, while the caller may still go on from it
        self._played_at_close = 0  # agent samples heard when that turn was closed
        self._joining: UserTurn | None = None  # the turn the utterance in progress goes on from
        self._frames_seen = 0
        processing = config.processing
        self._echo = EchoReference(io, processing, STT_RATE) if processing and processing.enabled else None
        self._interim = (
            InterimTranscripts(
                stt,
                self._publish_interim,
                every_s=config.interim_every_s,
                hint=config.stt_hint,
                working=io.working,
            )
            if config.interim_every_s
            else None
        )

    @property
    def caller_active(self) -> bool:
        """The caller is speaking, or a turn of theirs is still being decoded or waited out."""
        return self._pending is not None or self._speech_started_s is not None

    async def run(self) -> None:
        """Caller audio until the call ends (or `call_over` is set), as 16 kHz 20 ms frames for the VAD."""
        to16k = StreamResampler(self._io.input_rate, STT_RATE)
        framer = Reframer(STT_RATE)  # the resampler's output sizes vary; the VAD needs exact 20 ms frames
        async for incoming in self._io.frames():
            for frame in framer.push(to16k.push(incoming.samples)):
                await self.hear(frame)
            if self._call_over.is_set():
                break

    async def hear(self, frame: AudioFrame) -> None:
        """One 20 ms frame: ticks, echo removal, VAD, the utterance, interim text, barge-in, end of turn."""
        self._frames_seen += 1
        if self._frames_seen % TICK_FRAMES == 0:
            await self._emit(Tick(self._io.now(), self.caller_active))
        if self._echo is not None:
            frame = self._echo.process(frame)
        vad_event = self._vad.process(frame)
        self._utterance.add(
            frame.samples, keep=self._vad.speaking or vad_event is not None or self._pending is not None
        )
        if isinstance(vad_event, VadSpeechStarted):
            await self._speech_started(vad_event.at_s)
        elif isinstance(vad_event, SpeechEnded):
            self._begin_endpointing(vad_event)
        self._update_interim(vad_event)
        now = self._io.now()
        started = self._speech_started_s
        if self._vad.speaking and started is not None and now - started >= self._config.turns.barge_in_min_s:
            await self._emit(SpeechSustained(now, now - started))
        if self._pending is not None and not self._vad.speaking:
            if vad_event is None:
                self._pending.hear_tail(rms(frame.samples))
            if self._pending.worth_a_last_look(wait_over=False):
                self._look_again()
            turn = self._pending.taken_if_over(now, self._config.turns, self._awaiting())
            if turn is not None and self._pending.worth_a_last_look(wait_over=True):
                self._look_again()
            elif turn is not None:
                self._pending = None
                self._utterance.close()
                self._speech_started_s = None
                if self._joining is not None:
                    turn, self._joining = replace(turn, continues=self._joining), None
                self._closed, self._played_at_close = turn, self._io.played_samples
                await self._emit(turn)
            elif (likely := self._pending.likely_turn(now, self._config.turns, self._awaiting())) is not None:
                await self._emit(TurnLikely(replace(likely, continues=self._joining)))

    async def _speech_started(self, at_s: float) -> None:
        self._speech_started_s = at_s
        if self._pending is not None:  # the caller went on talking before the turn was closed: one utterance
            self._pending.stt_task.cancel()
            self._pending = None
        elif self._closed is not None and self._goes_on(self._closed, at_s):
            self._joining = self._closed  # ... or right after it was closed: the turn was not over either
            self._utterance.rejoin()  # Whisper hears the whole utterance again: it decodes it better whole
            await self._emit(Continuation(at_s, self._closed))
        else:
            self._utterance.forget_closed()
        self._closed = None
        await self._emit(SpeechStarted(at_s))

    def _goes_on(self, closed: UserTurn, at_s: float) -> bool:
        """Speech this soon after a closed turn, before the caller heard much of the answer, continues it."""
        turns = self._config.turns
        heard_s = (self._io.played_samples - self._played_at_close) / self._io.output_rate
        return (
            at_s - closed.speech_end_s <= turns.continuation_window_s
            and heard_s <= turns.continuation_max_heard_s
        )

    def _update_interim(self, vad_event: VadSpeechStarted | SpeechEnded | None) -> None:
        if self._interim is None:
            return
        # Only while the caller is audibly speaking, not in the VAD's stopping grace: a partial decode
        # started there would hold the worker just as the final transcript needs it.
        if (
            self._vad.state is VadState.SPEAKING
            and self._pending is None
            and self._speech_started_s is not None
        ):
            self._interim.update(self._io.now(), self._speech_started_s, self._utterance.frames)
        elif isinstance(vad_event, SpeechEnded):
            self._interim.utterance_over()

    async def _publish_interim(self, text: str) -> None:
        await self._emit(InterimText(text))

    def _begin_endpointing(self, event: SpeechEnded) -> None:
        audio = self._utterance.audio()
        task = asyncio.create_task(self._transcribe(audio), name="stt")
        self._pending = PendingTurn(
            audio,
            event.at_s,
            event.detected_at_s,
            task,
            time.perf_counter(),
            event.speech_duration_s,
            tail_level=tail_sound_level(audio, self._config.vad.energy_threshold),
        )

    def _look_again(self) -> None:
        assert self._pending is not None
        audio, before = self._utterance.audio(), self._pending.audio.size
        task = asyncio.create_task(self._transcribe(audio), name="stt-last-look")
        self._pending = replace(
            self._pending,
            audio=audio,
            stt_task=task,
            stt_started=time.perf_counter(),
            stt_ms=None,
            tail_loud=0,
            tail_quiet=0,
            looks=self._pending.looks + 1,
            announced=False,
        )
        log.info("stt_last_look", tail_s=round((audio.size - before) / STT_RATE, 2), look=self._pending.looks)

    async def _transcribe(self, audio: Int16Array) -> Transcript:
        awaiting = self._awaiting()
        hint = whisper_prompt(awaiting, audio.size / STT_RATE, self._config.stt_hint)
        async with self._io.working():
            if self._second_stt is None:
                heard = await self._stt.transcribe(audio, hint=hint)
                heard = with_fives_heard(heard) if awaiting == "phone" else heard
            else:
                heard = await hear_with_second_opinion(self._stt, self._second_stt, audio, awaiting, hint)
        if awaiting == "name" and self._io.input_rate <= PHONE_BAND_RATE:
            restored = with_lost_s_restored(heard.text)
            if restored != heard.text:
                log.info("name_s_restored", heard=heard.text[-60:], restored=restored[-60:])
                heard = replace(heard, text=restored)
        return heard

    async def hear_again(self, turn: UserTurn) -> str | None:
        """The second model's words for a turn the dialog did not understand (see `second_opinion.hear_again`)."""
        if self._second_stt is None:
            return None
        async with self._io.working():
            return await hear_again(self._second_stt, turn, self._config.stt_hint)

    async def aclose(self) -> None:
        """Cancel a decode in flight, close the echo canceller and the interim decoder (idempotent)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.stt_task.cancel()
            await asyncio.gather(pending.stt_task, return_exceptions=True)
        if self._echo is not None:
            await self._echo.aclose()
            self._echo = None
        if self._interim is not None:
            await self._interim.aclose()
            self._interim = None
