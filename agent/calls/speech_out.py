"""SpeechHandle: one agent utterance, synthesised sentence by sentence, interruptible, knowing what was heard."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent import metrics
from agent.audio.level import trim_silence
from agent.audio.resample import StreamResampler
from agent.calls.io import CallIO
from agent.speech.text_normalise import normalise_for_speech, quick_first_chunk, split_sentences
from agent.speech.tts import TextToSpeech

LEAD_S = 0.02  # silence kept before a sentence's first word (the engines pad ~0.3 s: pure waiting)
TAIL_S = 0.2  # silence kept after a sentence: with the next one's lead, the pause between sentences


@dataclass
class _Spoken:
    text: str
    start_sample: int  # in the call's output stream (io.played_samples scale)
    samples: int


@dataclass
class SpeechHandle:
    """Plays `text`; `interrupt()` stops it at once; `heard_text()` is what the caller actually heard."""

    text: str
    io: CallIO
    tts: TextToSpeech
    first_audio_s: float | None = None  # wall seconds from start (a held answer: its release) to first audio
    interrupted: bool = False
    stalls: int = 0  # sentences that came after the caller had heard all before them (synthesis fell behind)
    _plan: list[str] = field(default_factory=list)
    _sentences: list[_Spoken] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _cursor: int = 0  # output-stream sample where our next sentence starts
    _first_audio: asyncio.Event = field(default_factory=asyncio.Event)
    _released: asyncio.Event = field(default_factory=asyncio.Event)  # unset: synthesised but held, not played
    _ready: asyncio.Event = field(default_factory=asyncio.Event)  # the first sentence is synthesised
    ready_s: float | None = None  # wall seconds from start to the first sentence's audio, played or held
    _started: float = 0.0  # perf_counter() when it was started, or released if it was held

    def start(self, *, hold: bool = False) -> SpeechHandle:
        """Synthesise and play; with `hold`, synthesise the first sentence and play nothing until `release()`
        (an answer prepared while the caller's end-of-turn silence still runs)."""
        self._started = time.perf_counter()
        if not hold:
            self.release()
        self._plan = quick_first_chunk(split_sentences(normalise_for_speech(self.text)))
        self._task = asyncio.create_task(self._run(), name=f"speak-{self.io.call_id}")
        return self

    def release(self) -> None:
        """Play a held answer now: from here its audio follows what the call is playing."""
        if not self._released.is_set():
            self._started = time.perf_counter()
            self._cursor = self.io.played_samples + self.io.queued_samples
            self._released.set()

    async def _run(self) -> None:
        resampler = StreamResampler(self.tts.sample_rate, self.io.output_rate)
        for sentence in self._plan:
            async with self.io.working():
                audio = await self.tts.synthesize(sentence)
            if not audio.size:
                continue
            audio = trim_silence(audio, self.tts.sample_rate, keep_lead_s=LEAD_S, keep_tail_s=TAIL_S)
            out = resampler.push(audio)
            if out.size == 0:
                continue
            if not self._ready.is_set():
                self.ready_s = time.perf_counter() - self._started
                self._ready.set()
            await self._released.wait()
            if self.first_audio_s is None:  # when the caller can first hear it: the kept lead counts too
                self.first_audio_s = time.perf_counter() - self._started + LEAD_S
                self._first_audio.set()
            if self._sentences and self.io.queued_samples == 0:  # everything before it was heard already
                self.stalls += 1
                metrics.speech_stalled()
            self._sentences.append(_Spoken(sentence, self._cursor, int(out.size)))
            self._cursor += int(out.size)
            await self._play(out)
        await self._released.wait()
        tail = resampler.flush()
        if tail.size:
            self._cursor += int(tail.size)
            if self._sentences:
                self._sentences[-1].samples += int(tail.size)
            await self._play(tail)
        await self.io.wait_played()

    async def _play(self, samples: npt.NDArray[np.int16]) -> None:
        await self.io.play(samples)

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    async def wait_first_audio(self) -> None:
        """Until the first audio is queued, or the utterance ended without any."""
        await self._until(self._first_audio)

    async def wait_ready(self) -> None:
        """Until the first sentence is synthesised (held or played), or the utterance ended without any."""
        await self._until(self._ready)

    async def _until(self, event: asyncio.Event) -> None:
        if self._task is None:
            return
        waiter = asyncio.ensure_future(event.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def interrupt(self) -> None:
        """Stop synthesis and drop unplayed audio (barge-in)."""
        if not self.active:
            return
        self.interrupted = True
        assert self._task is not None
        self._task.cancel()
        if self._released.is_set():  # a held answer has nothing on the line to clear
            self.io.clear()
        await asyncio.gather(self._task, return_exceptions=True)

    def heard_text(self) -> str:
        """Whole sentences heard, plus the heard words of a sentence cut off mid-way (by time share)."""
        played = self.io.played_samples
        heard: list[str] = []
        for spoken in self._sentences:
            if played >= spoken.start_sample + spoken.samples:
                heard.append(spoken.text)
            elif played > spoken.start_sample:
                words = spoken.text.split()
                share = (played - spoken.start_sample) / max(1, spoken.samples)
                cut = int(len(words) * share)
                if cut:
                    heard.append(" ".join(words[:cut]) + " ...")
                break
            else:
                break
        return " ".join(heard)

    def unheard_text(self) -> str:
        """The reply from the sentence that was cut off onwards, to resume after a false interruption."""
        played = self.io.played_samples
        done = sum(1 for spoken in self._sentences if played >= spoken.start_sample + spoken.samples)
        return " ".join(self._plan[done:])
