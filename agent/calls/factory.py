"""CallFactory: the one place a call session is built, for phone calls, browser calls and QA replay alike."""

from __future__ import annotations

from dataclasses import dataclass

from agent.audio.processing import ProcessingConfig
from agent.audio.vad import VadConfig
from agent.calls.handoff import HandoffConfig
from agent.calls.io import CallIO
from agent.calls.listener import ListenerConfig
from agent.calls.session import CallConfig, CallParts, CallSession
from agent.calls.turn_taking import TurnTakingConfig
from agent.config import CallSettings, SttSettings, VoiceSettings


def call_config(
    voice: VoiceSettings,
    stt: SttSettings,
    calls: CallSettings,
    *,
    stt_hint: str | None = None,
    slow_brain: bool = False,
) -> CallConfig:
    """How every call listens and hands over, from the voice, STT and call sections of the settings."""
    ack_after = voice.thinking_ack_after_s
    if ack_after is None:
        ack_after = 1.2 if slow_brain else 0.0
    return CallConfig(
        listener=ListenerConfig(
            vad=VadConfig(
                aggressiveness=voice.vad_aggressiveness,
                start_frames=voice.vad_start_frames,
                stop_frames=voice.vad_stop_frames,
                energy_threshold=voice.vad_energy_threshold,
            ),
            turns=TurnTakingConfig(
                end_silence_s=voice.end_of_turn_silence_s,
                patient_silence_s=voice.patient_end_of_turn_silence_s,
                barge_in_min_s=voice.barge_in_min_s,
                continuation_window_s=voice.continuation_window_s,
                thinking_ack_after_s=ack_after or None,
                prepare_answers=voice.prepare_answers,
            ),
            processing=ProcessingConfig(voice.echo_cancellation, voice.noise_suppression),
            interim_every_s=stt.interim_transcript_every_s or None,
            stt_hint=stt_hint,
        ),
        handoff=HandoffConfig(
            transfer_targets=dict(calls.human_sip_uris), hold_music_after_s=calls.hold_music_after_s
        ),
        max_call_s=calls.max_call_s,
        recording_notice=calls.recording_notice.strip(),
    )


@dataclass(frozen=True)
class CallFactory:
    """Shared by every entry (SIP, LiveKit, browser, replay): one process, one way to build a call."""

    parts: CallParts
    config: CallConfig

    def session(self, io: CallIO, *, session_id: str | None = None) -> CallSession:
        """A call on `io`; with `session_id` it joins that existing session (a console chat), which outlives it."""
        return CallSession(
            io, self.parts, self.config, session_id=session_id, end_session_on_hangup=session_id is None
        )
