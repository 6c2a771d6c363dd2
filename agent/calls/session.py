"""CallSession: one call's tasks: greet, listen, end turns, answer, speak notifications, hang up, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.audio.frames import AudioFrame, Reframer
from agent.audio.hold_music import hold_music_loop
from agent.audio.processing import ProcessingConfig
from agent.audio.resample import StreamResampler
from agent.audio.vad import SpeechEnded, SpeechStarted, VadConfig, VadState, VoiceActivityDetector
from agent.calls.echo_reference import EchoReference
from agent.calls.interim import InterimTranscripts
from agent.calls.io import CallIO
from agent.calls.speech_out import SpeechHandle
from agent.calls.turn_record import BargeIn, TurnRecord
from agent.calls.turn_taking import TurnTakingConfig, is_false_interruption, required_silence
from agent.dialog.conversation import Conversations, EventSink
from agent.dialog.state import ConversationState
from agent.log import bind_ids, get_logger
from agent.speech.stt import SpeechToText, Transcript
from agent.speech.tts import TextToSpeech

log = get_logger(__name__)
STT_RATE = 16000
PRE_ROLL_FRAMES = 15  # 300 ms of audio kept before the VAD confirms speech
NOTIFICATION_CHECK_FRAMES = 12  # look for landed notifications every 240 ms of call time
RESUMED_GREETING = "I'm on the line now. How can I help?"


@dataclass
class _Pending:
    audio: np.ndarray
    end_s: float
    detect_s: float
    stt_task: asyncio.Task[Transcript]
    stt_started: float
    speech_s: float
    stt_ms: float | None = None


@dataclass
class CallSession:
    io: CallIO
    conversations: Conversations
    stt: SpeechToText
    tts: TextToSpeech
    events: EventSink
    vad_config: VadConfig = field(default_factory=VadConfig)
    turn_config: TurnTakingConfig = field(default_factory=TurnTakingConfig)
    stt_hint: str | None = None  # names and words of this dealership, to steer Whisper's spelling
    processing: ProcessingConfig | None = None  # echo cancellation / noise suppression, when enabled
    transfer_targets: dict[str, str] = field(default_factory=dict)  # human name -> where to transfer
    hold_music_after_s: float | None = None  # while a human is being found and all is quiet this long
    interim_every_s: float | None = None  # publish partial caller text this often while they speak
    transferred_to: str | None = None
    transfer_failed: bool = False
    final_state: ConversationState | None = None
    _escalating: bool = False
    _transfer_tried: bool = False
    _music: asyncio.Task[None] | None = None
    _quiet_since: float = 0.0
    _frames_seen: int = 0
    _notes_check: asyncio.Task[None] | None = None
    _echo: EchoReference | None = None
    _interim: InterimTranscripts | None = None
    session_id: str = ""  # preset: the call joins that existing session instead of starting one
    end_session_on_hangup: bool = True  # False: the session outlives the call (chat goes on after it)
    turns: list[TurnRecord] = field(default_factory=list)
    barge_ins: list[BargeIn] = field(default_factory=list)
    notifications_spoken: list[str] = field(default_factory=list)
    ended_by_agent: bool = False
    _speaking: SpeechHandle | None = None
    _interrupted: SpeechHandle | None = None
    _pending: _Pending | None = None
    _turn_task: asyncio.Task[None] | None = None
    _buffer: list[np.ndarray] = field(default_factory=list)
    _preroll: list[np.ndarray] = field(default_factory=list)
    _speech_started_s: float | None = None
    _awaiting: str | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self) -> None:
        """Answer, greet, converse until either side hangs up; always cleans up."""
        if self.session_id:  # a voice call joining a session that already exists (the console's chat)
            state = await self.conversations.get(self.session_id)
            greeting = state.reply if state.turn_count == 0 else RESUMED_GREETING
        else:
            state = await self.conversations.start(self.io.caller_id, channel="voice")
            self.session_id = state.session_id
            greeting = state.reply
        bind_ids(call_id=self.io.call_id, session_id=self.session_id)
        if self.processing is not None and self.processing.enabled:
            self._echo = EchoReference(self.io, self.processing, STT_RATE)
        if self.interim_every_s:
            self._interim = InterimTranscripts(
                self.stt,
                self.events,
                every_s=self.interim_every_s,
                hint=self.stt_hint,
                working=self.io.working,
            )
        log.info("call_answered", caller_id=self.io.caller_id)
        try:
            self._speak(greeting)
            self._tasks.append(asyncio.create_task(self._keypad(), name="dtmf"))
            await self._listen()
        finally:
            await self._cleanup()

    def _speak(self, text: str) -> SpeechHandle:
        if self._music is not None:  # the music task stops itself; drop what it queued
            self._music.cancel()
            self._music = None
            self.io.clear()
        on_audio = self._echo.queued if self._echo is not None else None
        self._speaking = SpeechHandle(text, self.io, self.tts, on_audio=on_audio).start()
        return self._speaking

    def _agent_talking(self) -> bool:
        return self._speaking is not None and self._speaking.active

    async def _listen(self) -> None:
        vad = VoiceActivityDetector(self.vad_config)
        to16k = StreamResampler(self.io.input_rate, STT_RATE)
        framer = Reframer(STT_RATE)  # the resampler's output sizes vary; the VAD needs exact 20 ms frames
        async for incoming in self.io.frames():
            for frame in framer.push(to16k.push(incoming.samples)):
                await self._on_frame(vad, frame)
            if self.ended_by_agent:
                break

    async def _on_frame(self, vad: VoiceActivityDetector, frame: AudioFrame) -> None:
        self._frames_seen += 1
        if self._frames_seen % NOTIFICATION_CHECK_FRAMES == 0 and (
            self._notes_check is None or self._notes_check.done()
        ):
            self._notes_check = asyncio.create_task(self._check_notifications(), name="notifications")
        if self._echo is not None:
            frame = self._echo.process(frame)
        samples = frame.samples
        event = vad.process(frame)
        self._collect(samples, vad.speaking or event is not None)
        if isinstance(event, SpeechStarted):
            self._speech_started_s = event.at_s
            await self._stop_music()
            if self._pending is not None:  # the caller went on talking: the turn was not over
                self._pending.stt_task.cancel()
                self._pending = None
        elif isinstance(event, SpeechEnded):
            self._begin_endpointing(event)
        if self._interim is not None:
            # Only while the caller is audibly speaking, not in the VAD's stopping grace: a partial decode
            # started there would hold the worker just as the final transcript needs it.
            if (
                vad.state is VadState.SPEAKING
                and self._pending is None
                and self._speech_started_s is not None
            ):
                self._interim.update(self.session_id, self.io.now(), self._speech_started_s, self._buffer)
            elif isinstance(event, SpeechEnded):
                self._interim.utterance_over()
        await self._maybe_barge_in(vad.speaking)
        await self._maybe_end_turn(vad.speaking)

    def _collect(self, samples: np.ndarray, in_speech: bool) -> None:
        if in_speech or self._pending is not None:
            if not self._buffer:
                self._buffer.extend(self._preroll)
            self._buffer.append(samples)
        else:
            self._preroll = [*self._preroll[-(PRE_ROLL_FRAMES - 1) :], samples]

    async def _maybe_barge_in(self, caller_speaking: bool) -> None:
        if not (caller_speaking and self._agent_talking() and self._speech_started_s is not None):
            return
        if self.io.now() - self._speech_started_s < self.turn_config.barge_in_min_s:
            return
        assert self._speaking is not None
        await self._speaking.interrupt()
        if self._echo is not None:
            self._echo.cleared()
        self._interrupted = self._speaking
        self.barge_ins.append(BargeIn(self.io.now(), self._speaking.heard_text()))
        log.info("barge_in", heard=self._speaking.heard_text()[-80:])

    def _begin_endpointing(self, event: SpeechEnded) -> None:
        audio = np.concatenate(self._buffer) if self._buffer else np.zeros(0, np.int16)
        task = asyncio.create_task(self._transcribe(audio), name="stt")
        self._pending = _Pending(
            audio, event.at_s, event.detected_at_s, task, time.perf_counter(), event.speech_duration_s
        )

    async def _transcribe(self, audio: np.ndarray) -> Transcript:
        async with self.io.working():
            return await self.stt.transcribe(audio, hint=self.stt_hint)

    async def _maybe_end_turn(self, caller_speaking: bool) -> None:
        pending = self._pending
        if pending is None or caller_speaking or not pending.stt_task.done():
            return
        if pending.stt_ms is None:
            pending.stt_ms = (time.perf_counter() - pending.stt_started) * 1000
        transcript = pending.stt_task.result()
        waited = self.io.now() - pending.end_s
        if waited < required_silence(self.turn_config, transcript.text, self._awaiting):
            return
        self._pending = None
        self._buffer.clear()
        self._speech_started_s = None
        interrupted, self._interrupted = self._interrupted, None
        text = transcript.text.strip()
        if not text or (
            interrupted is not None
            and is_false_interruption(text, pending.speech_s, avg_logprob=transcript.avg_logprob)
        ):
            if interrupted is not None and self.turn_config.resume_after_false_interruption:
                log.info("false_interruption_resumed", heard=text)
                if self.barge_ins:
                    self.barge_ins[-1].resumed = True
                self._speak(interrupted.unheard_text())
            return
        if interrupted is not None:
            await self.conversations.record_heard(self.session_id, interrupted.heard_text())
        detect_wait_s = pending.detect_s - pending.end_s
        self._turn_task = asyncio.create_task(
            self._answer(text, pending.end_s, detect_wait_s, pending.stt_ms or 0.0, waited, self._turn_task),
            name="turn",
        )

    async def _answer(
        self,
        text: str,
        end_s: float,
        detect_wait_s: float,
        stt_ms: float,
        waited_s: float,
        previous: asyncio.Task[None] | None = None,
    ) -> None:
        if previous is not None:  # turns are answered in order; never block the listening loop on it
            await asyncio.gather(previous, return_exceptions=True)
        async with self.io.working():
            result = await self.conversations.handle_turn(self.session_id, text)
        state = result.state
        self._awaiting = state.booking_slots.awaiting if state.booking_slots.is_active() else None
        handle = self._speak(state.reply)
        await handle.wait_first_audio()
        tts_ms = (handle.first_audio_s or 0.0) * 1000
        # A live call overlaps STT with the end-of-turn silence: voice-to-voice is whichever is longer.
        v2v = max(waited_s * 1000, detect_wait_s * 1000 + stt_ms) + result.processing_ms + tts_ms
        record = TurnRecord(
            text,
            state.reply,
            state.current_agent,
            end_s,
            waited_s * 1000,
            stt_ms,
            result.processing_ms,
            tts_ms,
            v2v,
            state.ended,
            result.turn_id,
        )
        self.turns.append(record)
        await self.events.publish(self.session_id, record.latency_event(self.session_id))
        log.info("voice_turn", **{k: v for k, v in record.__dict__.items() if k.endswith("_ms")})
        self._escalating = state.escalation_in_progress
        if state.ended:
            await handle.wait()
            self.ended_by_agent = True
            await self.io.hangup()
        else:
            await self._maybe_transfer(state, handle)

    async def _check_notifications(self) -> None:
        """Every quarter second of call time: speak what background work reported the moment it lands,
        even if the caller is silent (media time, so a virtual-clock replay behaves like a live call)."""
        if (
            self._agent_talking()
            or self._pending is not None
            or (self._turn_task is not None and not self._turn_task.done())
            or self._speech_started_s is not None
        ):
            self._quiet_since = self.io.now()
            return
        try:
            async with self.io.working():
                await self._deliver_notifications()
        except Exception:  # a store hiccup must not silence the rest of the call
            log.exception("notification_delivery_failed")

    async def _deliver_notifications(self) -> None:
        spoken = await self.conversations.deliver_notifications(self.session_id)
        if spoken:
            self.notifications_spoken.extend(spoken)
            handle = self._speak(" ".join(spoken))
            state = await self.conversations.get(self.session_id)
            self._escalating = state.escalation_in_progress
            await self._maybe_transfer(state, handle)
        elif self._escalating:
            await self._maybe_hold_music()

    async def _maybe_hold_music(self) -> None:
        """While the check for a human runs and nobody has spoken for a while, play hold music."""
        if self.hold_music_after_s is None or self._music is not None:
            return
        if self.io.now() - self._quiet_since >= self.hold_music_after_s:
            self._music = asyncio.create_task(self._play_music(), name="hold-music")

    async def _play_music(self) -> None:
        loop = hold_music_loop(self.io.output_rate)
        chunk = self.io.output_rate // 2
        position = 0
        log.info("hold_music_started")
        while True:
            if self.io.queued_samples < self.io.output_rate:  # keep at most ~1 s queued: stops at once
                piece = loop[position : position + chunk]
                position = (position + chunk) % loop.size
                await self.io.play(piece)
            await asyncio.sleep(0.1)

    async def _stop_music(self) -> None:
        music, self._music = self._music, None
        if music is not None:
            music.cancel()
            await asyncio.gather(music, return_exceptions=True)
            self.io.clear()

    async def _maybe_transfer(self, state: ConversationState, handle: SpeechHandle) -> None:
        """A human is free: once the caller has heard so, hand the call over (only to configured targets)."""
        if self._transfer_tried or state.human_agent_status != "available":
            return
        target = self.transfer_targets.get(state.human_agent_name or "")
        if target is None:
            return
        self._transfer_tried = True
        await handle.wait()
        ok = await self.io.transfer(target)
        text = await self.conversations.transfer_finished(self.session_id, ok=ok, target=target)
        if ok:
            self.transferred_to = target
            self.ended_by_agent = True
        else:
            self.transfer_failed = True
            self._speak(text)

    async def _keypad(self) -> None:
        """DTMF: '0' alone asks for a person; digits then '#' (or ten of them) are read as a number."""
        digits = ""
        async for key in self.io.dtmf():
            if key.digit == "0" and not digits:
                await self._keyed_turn("I'd like to speak to a person")
            elif key.digit == "#" or len(digits + key.digit) >= 10:
                digits += key.digit if key.digit != "#" else ""
                if digits:
                    await self._keyed_turn(digits)
                digits = ""
            elif key.digit.isdigit():
                digits += key.digit

    async def _keyed_turn(self, text: str) -> None:
        if self._agent_talking():
            assert self._speaking is not None
            await self._speaking.interrupt()
        now = self.io.now()
        self._turn_task = asyncio.create_task(
            self._answer(text, now, 0.0, 0.0, 0.0, self._turn_task), name="keyed-turn"
        )

    async def _cleanup(self) -> None:
        owned: list[asyncio.Task[Any]] = [*self._tasks]
        if self._music is not None:
            owned.append(self._music)
        if self._notes_check is not None:
            owned.append(self._notes_check)
        if self._turn_task is not None:
            owned.append(self._turn_task)
        if self._pending is not None:
            owned.append(self._pending.stt_task)
        for task in owned:
            task.cancel()
        if self._speaking is not None:
            await self._speaking.interrupt()
        await asyncio.gather(*owned, return_exceptions=True)
        if self._echo is not None:
            await self._echo.aclose()
        if self._interim is not None:
            await self._interim.aclose()
        with contextlib.suppress(Exception):
            self.final_state = await self.conversations.get(self.session_id)
        if self.end_session_on_hangup:
            with contextlib.suppress(Exception):
                await self.conversations.end(self.session_id)
        log.info("call_ended", turns=len(self.turns), ended_by_agent=self.ended_by_agent)
