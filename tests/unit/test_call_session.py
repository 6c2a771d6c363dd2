"""Turn-taking on virtual time: endpointing, patience with numbers, barge-in, false interruptions, notifications."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from agent.audio.processing import ProcessingConfig
from agent.audio.vad import VadConfig
from agent.calls.factory import CallFactory
from agent.calls.handoff import HandoffConfig
from agent.calls.io import DtmfDigit
from agent.calls.listener import ListenerConfig
from agent.calls.session import CallConfig, CallParts, CallSession
from agent.calls.turn_taking import TurnTakingConfig, is_backchannel, required_silence
from agent.dialog.conversation import Conversations, TurnResult
from agent.dialog.state import BookingSlots, ConversationState
from agent.speech.stt import SpeechToText, Transcript
from agent.speech.tts import TextToSpeech
from telephony.replay import CallerTurn, ReplayCall

pytestmark = pytest.mark.unit
RATE = 16000
DIGIT_GROUPS = ["five five five", "oh one four", "nine eight seven six"]


def burst(seconds: float, freq: float = 220.0) -> np.ndarray:
    """A loud harmonic tone standing in for speech (the tests use the energy VAD)."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    return (wave / 3 * 12000).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.int16)


def loud_frames(audio: np.ndarray) -> np.ndarray:
    frames = audio[: audio.size // 320 * 320].reshape(-1, 320).astype(np.float32)
    return np.sqrt((frames**2).mean(axis=1)) > 1000


def count_bursts(audio: np.ndarray) -> int:
    loud = loud_frames(audio)
    return int(np.sum(loud[1:] & ~loud[:-1]) + (1 if loud.size and loud[0] else 0))


class BurstSTT(SpeechToText):
    """Hears a script: one burst is the first phrase, two bursts the first two of the digit groups, etc."""

    def __init__(self, phrases: dict[int, str] | None = None) -> None:
        self.phrases = phrases or {}
        self.calls = 0

    async def transcribe(self, samples16k: Any, *, hint: str | None = None) -> Transcript:
        self.calls += 1
        audio = np.asarray(samples16k)
        bursts = count_bursts(audio)
        seconds = audio.size / RATE
        if loud_frames(audio).sum() * 0.02 < 0.6 and "short" in self.phrases:
            text = self.phrases["short"]
        else:
            text = self.phrases.get(bursts, " ".join(DIGIT_GROUPS[:bursts]))
        return Transcript(text, 0.0, -0.1, seconds, "en")


class ToneTTS(TextToSpeech):
    """0.25 s of tone per word, instantly; remembers what it was asked to say."""

    name = "tone"
    sample_rate = RATE

    def __init__(self) -> None:
        self.said: list[str] = []

    async def synthesize(self, text: str) -> np.ndarray:
        self.said.append(text)
        return burst(0.25 * len(text.split()), freq=330.0)


class ScriptedConversations(Conversations):
    """The dialog replaced by a script (the real one is covered by the scenario suites)."""

    def __init__(self, replies: list[str], awaiting: str | None = None) -> None:
        self.replies = replies
        self.awaiting = awaiting
        self.heard: list[str] = []
        self.turns: list[str] = []
        self.notes: list[str] = []
        self.ended = False
        self.revocable = True
        self.taken_back: list[str] = []
        self.started_verified: bool | None = None

    async def start(
        self, caller_phone: str | None = None, channel: Any = "voice", *, caller_verified: bool = False
    ) -> ConversationState:
        self.started_verified = caller_verified
        slots = BookingSlots(action="book", awaiting=self.awaiting) if self.awaiting else BookingSlots()  # type: ignore[arg-type]
        return ConversationState(
            session_id="sess_test", reply="Thanks for calling Riverside Motors.", booking_slots=slots
        )

    async def handle_turn(self, session_id: str, text: str) -> TurnResult:
        self.turns.append(text)
        reply = self.replies[min(len(self.turns), len(self.replies)) - 1]
        slots = BookingSlots(action="book", awaiting=self.awaiting) if self.awaiting else BookingSlots()  # type: ignore[arg-type]
        state = ConversationState(
            session_id=session_id,
            reply=reply,
            booking_slots=slots,
            ended=reply.endswith("goodbye!"),
            current_agent="faq",
        )
        return TurnResult(state, 5.0, f"turn-{len(self.turns)}", self.revocable)

    async def take_back(self, session_id: str, turn_id: str) -> str | None:
        if not self.revocable or turn_id != f"turn-{len(self.turns)}":
            return None
        self.taken_back.append(turn_id)
        return self.turns[-1]

    async def deliver_notifications(self, session_id: str) -> list[str]:
        taken, self.notes = self.notes, []
        return taken

    async def record_heard(self, session_id: str, heard: str) -> None:
        self.heard.append(heard)

    async def end(self, session_id: str) -> bool:
        self.ended = True
        return True


class Events:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def publish(self, session_id: str, event: dict[str, Any]) -> None:
        self.events.append(event)


def scripted_config(
    *,
    interim_every_s: float | None = None,
    processing: ProcessingConfig | None = None,
    transfer_targets: dict[str, str] | None = None,
    hold_music_after_s: float | None = None,
) -> CallConfig:
    """Calls as the factory builds them, with the energy VAD (the tests' "speech" is a tone)."""
    listener = ListenerConfig(
        VadConfig(use_webrtc=False),
        TurnTakingConfig(),
        processing=processing,
        interim_every_s=interim_every_s,
    )
    return CallConfig(listener, HandoffConfig(transfer_targets or {}, hold_music_after_s))


def session_for(
    turns: list[CallerTurn],
    convo: ScriptedConversations,
    stt: SpeechToText,
    tts: ToneTTS,
    config: CallConfig | None = None,
) -> tuple[CallSession, ReplayCall, Events]:
    call = ReplayCall(turns, input_rate=RATE, output_rate=RATE, max_call_s=120)
    events = Events()
    session = CallFactory(CallParts(convo, stt, tts, events), config or scripted_config()).session(call)
    return session, call, events


async def test_a_finished_sentence_ends_the_turn_after_a_short_silence() -> None:
    convo = ScriptedConversations(["What day works best?"])
    stt, tts = BurstSTT({1: "I'd like to book an oil change."}), ToneTTS()
    session, _call, events = session_for(
        [CallerTurn(np.concatenate([burst(1.2), silence(2.0)]))], convo, stt, tts
    )
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == ["I'd like to book an oil change."]
    assert tts.said[-1] == "What day works best?"
    turn = session.turns[0]
    assert 450 <= turn.endpoint_wait_ms < 700
    assert any(e["type"] == "latency" and e["data"]["total_ms"] > 0 for e in events.events)
    assert convo.ended


async def test_the_conversation_knows_whether_a_trusted_trunk_vouches_for_the_caller_id() -> None:
    for verified in (False, True):
        convo = ScriptedConversations(["Hello."])
        session, call, _ = session_for([], convo, BurstSTT(), ToneTTS())
        call.caller_verified = verified
        await session.open()
        assert convo.started_verified is verified


async def test_a_phone_number_read_slowly_is_one_turn() -> None:
    convo = ScriptedConversations(["Thanks. And your email?"], awaiting="phone")
    convo.awaiting = "phone"
    stt, tts = BurstSTT(), ToneTTS()
    groups = [burst(0.8), silence(0.9), burst(0.8), silence(0.9), burst(1.0), silence(2.0)]
    # The agent is already waiting for a phone number when the caller starts.
    session, _call, _ = session_for([CallerTurn(np.concatenate(groups))], convo, stt, tts)
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == ["five five five oh one four nine eight seven six"]


async def test_barge_in_stops_the_agent_and_keeps_only_what_was_heard() -> None:
    long_reply = "We are at 1800 Riverside Parkway. " * 6 + "Anything else?"
    convo = ScriptedConversations([long_reply, "Our number is 555 010 4400."])
    stt = BurstSTT({1: "where are you"})
    tts = ToneTTS()
    turns = [
        CallerTurn(burst(1.0)),
        CallerTurn(np.concatenate([burst(1.2), silence(2.0)]), barge_in_after_s=1.5),
    ]
    stt.phrases = {1: "sorry, what's your phone number?"}
    session, call, _ = session_for(turns, convo, stt, tts)
    await asyncio.wait_for(session.run(), 60)
    assert len(convo.heard) == 1
    heard = convo.heard[0]
    assert heard and len(heard) < len(long_reply) / 2
    assert convo.turns[-1] == "sorry, what's your phone number?"
    assert session.turns[0].agent_text == long_reply
    # The agent fell silent within 200 ms of the barge-in being detected (media time, 20 ms frames).
    cut = round(session.barge_ins[0].at_s / 0.02)
    after = np.concatenate(call.log.agent[cut + 10 : cut + 40])
    assert not after.any()
    assert np.concatenate(call.log.agent[cut - 10 : cut]).any()


async def test_a_short_mm_hmm_does_not_take_the_turn_and_the_agent_resumes() -> None:
    long_reply = "Our service hours are long. " * 5 + "Anything else?"
    convo = ScriptedConversations([long_reply])
    stt = BurstSTT({1: "where are you", "short": "mm-hmm"})
    tts = ToneTTS()
    turns = [
        CallerTurn(burst(1.0)),
        CallerTurn(np.concatenate([burst(0.45), silence(3.0)]), barge_in_after_s=1.0),
    ]
    session, _call, _ = session_for(turns, convo, stt, tts)
    await asyncio.wait_for(session.run(), 60)
    assert len(convo.turns) == 1, convo.turns
    assert convo.heard == []
    resumed = tts.said[-1]
    assert resumed.endswith("Anything else?")


async def test_a_notification_is_spoken_while_the_caller_is_silent() -> None:
    convo = ScriptedConversations(["Let me check who is free."])
    stt, tts = BurstSTT({1: "can I talk to a person"}), ToneTTS()
    session, _call, _ = session_for([CallerTurn(np.concatenate([burst(1.0), silence(4.0)]))], convo, stt, tts)

    async def land_later() -> None:
        while not convo.turns:  # noqa: ASYNC110 - polling a fake is the simplest honest trigger
            await asyncio.sleep(0.01)
        convo.notes.append("Good news: Sarah is available now.")

    await asyncio.wait_for(asyncio.gather(session.run(), land_later()), 60)
    assert "Good news: Sarah is available now." in " ".join(tts.said)


async def test_goodbye_hangs_up_and_dtmf_zero_asks_for_a_person() -> None:
    convo = ScriptedConversations(["Thanks for calling, goodbye!"])
    stt, tts = BurstSTT(), ToneTTS()
    session, call, _ = session_for([CallerTurn(silence(1.0))], convo, stt, tts)
    call.dtmf_queue.put_nowait(DtmfDigit("0", 0.5))
    await asyncio.wait_for(session.run(), 30)
    assert convo.turns == ["I'd like to speak to a person"]
    assert session.ended_by_agent


@pytest.mark.parametrize(
    ("text", "awaiting", "patient"),
    [
        ("I need an oil change.", None, False),
        ("my number is 555", "phone", True),
        ("five five five, oh one four, nine eight seven six.", "phone", False),
        ("and my email is john dot smith at", None, True),
        ("and my email is john dot smith", None, True),  # volunteered, still being read out
        ("and my email is john dot smith at gmail dot com", None, False),
        ("and um", None, True),
        # a caller reading a number out unprompted pauses between groups
        ("my number is 555-014", None, True),
        ("it's five five five", None, True),
        # a finished sentence that happens to end in a number, or a question
        ("I'm looking for a used SUV under 25,000.", None, False),
        ("Do you have any used Hondas under $20,000?", None, False),
        ("Can I come in tomorrow at 10", None, False),
        ("Do you have a 2019", None, False),
        ("Sorry, what's your phone number.", None, False),
        ("what about Tuesday and", None, True),
        ("555 014", "phone", True),
        ("It's 555-014-9876.", "name", False),  # a whole number said when asked for something else
        # Whisper looping on "five five five" read slowly is not a whole number: the rest is still coming
        ("5, 5, 5, 5, 5, 5, 5, 5, 5, 5", "phone", True),
        ("555 555 555 555 555 555 555 555 555", None, True),
        ("555 555 5555", "phone", False),
        # "five five five" alone, heard as a goodbye while the number is due: the rest of the number decides
        ("Bye bye bye.", "phone", True),
        ("Bye, bye!", "phone", True),
        ("Bye, bye!", None, False),
        ("Time time time.", "phone", True),
        # "one" for a slot offered is no digit still being read out
        ("The first one.", "choice", False),
        ("Yes, use that one.", "confirm", False),
        ("The second one.", None, False),
        ("555 014 one", None, True),
        # Whisper looping on the phrase (a real SIP call): not a digit loop, and a slot picked
        ("The first one, the first one, the first one, the first one, the first one,", "choice", False),
        ("Okay, bye.", "phone", False),
    ],
)
def test_required_silence(text: str, awaiting: str | None, patient: bool) -> None:
    config = TurnTakingConfig()
    expected = config.patient_silence_s if patient else config.end_silence_s
    assert required_silence(config, text, awaiting) == expected


def test_backchannels() -> None:
    assert is_backchannel("Mm-hmm.") and is_backchannel("okay") and is_backchannel("uh huh")
    assert not is_backchannel("okay book it") and not is_backchannel("no")


@pytest.mark.parametrize(
    ("text", "speech_s", "false"),
    [
        ("", 0.5, True),
        ("Mm-hmm.", 0.5, True),
        ("Amendment.", 0.5, True),
        ("Stop.", 0.5, False),
        ("Wait", 0.4, False),
        ("sorry, what's your phone number", 1.2, False),
        ("Amendment.", 1.5, False),
        ("Anna, Brooke.", 0.6, False),  # a name said over the agent's question (a real call, under babble)
        ("Man, man.", 0.5, True),
    ],
)
def test_false_interruptions(text: str, speech_s: float, false: bool) -> None:
    from agent.calls.turn_taking import is_false_interruption

    assert is_false_interruption(text, speech_s) is false


def test_a_short_burst_whisper_is_unsure_of_does_not_take_the_turn() -> None:
    from agent.calls.turn_taking import is_false_interruption

    # a half-second "mm-hmm" decoded as "No, no, no." with a mean log-probability of -0.76
    assert is_false_interruption("No, no, no.", 0.5, avg_logprob=-0.76)
    assert not is_false_interruption("No, no, no.", 0.5, avg_logprob=-0.2)  # said clearly: it counts
    assert not is_false_interruption("No, I said Friday.", 1.4, avg_logprob=-0.76)  # long enough to be meant


@pytest.mark.parametrize("cancel_echo", [False, True])
async def test_on_a_speakerphone_the_agent_does_not_interrupt_itself_with_echo_cancellation(
    cancel_echo: bool,
) -> None:
    from agent.audio.processing import CallAudioProcessor

    if cancel_echo and not CallAudioProcessor.available():
        pytest.skip("livekit (AudioProcessingModule) is not installed")
    long_reply = "Our service department is open on weekdays and Saturdays. " * 3 + "Anything else?"
    convo = ScriptedConversations([long_reply])
    stt, tts = BurstSTT({1: "what are your hours"}), ToneTTS()
    call = ReplayCall(
        [CallerTurn(burst(1.0))],
        input_rate=RATE,
        output_rate=RATE,
        max_call_s=60,
        echo_gain=0.5,
        echo_delay_ms=40,
    )
    processing = ProcessingConfig(echo_cancellation=cancel_echo, noise_suppression=False)
    session = CallFactory(
        CallParts(convo, stt, tts, Events()), scripted_config(processing=processing)
    ).session(call)
    await asyncio.wait_for(session.run(), 60)
    if cancel_echo:
        assert session.barge_ins == [], "the agent's own voice, cancelled, must not count as the caller"
    else:
        assert session.barge_ins, (
            "without cancellation the echo is heard as the caller talking over the agent"
        )


async def test_interim_text_is_published_while_the_caller_speaks_and_never_after() -> None:
    convo = ScriptedConversations(["What day works best?"])
    stt, tts = BurstSTT({1: "I'd like to book an oil change for next week."}), ToneTTS()
    session, _call, events = session_for(
        [CallerTurn(np.concatenate([burst(3.2), silence(2.0)]))],
        convo,
        stt,
        tts,
        scripted_config(interim_every_s=1.0),
    )
    await asyncio.wait_for(session.run(), 30)
    kinds = [
        "interim" if e.get("interim") else "final"
        for e in events.events
        if e["type"] == "transcript" or e["type"] == "latency"
    ]
    assert kinds.count("interim") >= 2, events.events  # at 1 s and 2 s of a 3.2 s utterance
    assert "interim" not in kinds[kinds.index("final") :]  # nothing partial once the turn was taken
    assert convo.turns == ["I'd like to book an oil change for next week."]


async def test_no_interim_text_unless_asked_for() -> None:
    convo = ScriptedConversations(["What day works best?"])
    stt, tts = BurstSTT({1: "I'd like to book an oil change for next week."}), ToneTTS()
    session, _call, events = session_for(
        [CallerTurn(np.concatenate([burst(3.2), silence(2.0)]))], convo, stt, tts
    )
    await asyncio.wait_for(session.run(), 30)
    assert not [e for e in events.events if e.get("interim")]
    assert stt.calls == 1
