"""Phone calls end to end: real baresip callers dial the agent's embedded SIP endpoint on loopback."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
import structlog

from agent.audio.wav import read_wav
from agent.server.keys import CALL_LOG, CALL_RUNNER, HUMANS
from tests.integration.sip_agent import (
    AGENT_PORT,
    KNOWN_CALLER,
    active_calls,
    heard_text,
    rows,
    sip_agent,
    sip_settings,
)
from tests.integration.sip_peers import (
    Baresip,
    caller_audio,
    in_loopback_namespace,
    peers_missing,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sip,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="SIP tests run inside a loopback-only namespace (scripts/test)"
    ),
    pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}"),
]


async def test_known_caller_is_answered_greeted_by_name_recorded_and_freed(tmp_path: Path) -> None:
    settings = sip_settings(tmp_path, rtp_port_min=21000, rtp_port_max=21003)  # room for two calls only
    async with sip_agent(settings) as app:
        for attempt in range(3):  # a third call only works if hang-up gave the ports back
            wav = caller_audio(tmp_path / f"silent{attempt}.wav", [(7.0, None)])
            caller = Baresip(
                tmp_path / f"caller{attempt}", 5080, 5580, (30000, 30010), user=KNOWN_CALLER, wav=wav
            )
            caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
            try:
                await caller.wait_calls_ended(1, 40)
                assert "Call established" in caller.log
            finally:
                caller.stop()
            await wait_until(lambda: active_calls(app) == 0, 10, "the call to be freed")
        heard = await heard_text(caller)
        assert "thanks for calling riverside motors" in heard
        assert "hi, mari" in heard  # "Maria": Whisper sometimes writes "Mario" from phone audio
        calls = await app[CALL_LOG].recent()
        assert len(calls) == 3
        last = calls[0]
        assert last.channel == "sip" and last.caller_id == KNOWN_CALLER
        assert last.ended_by == "caller" and last.outcome == "abandoned"
        assert last.recording_path is not None
        recorded, rate = read_wav(last.recording_path)  # stereo folded to mono by read_wav: both sides
        assert rate == 8000 and recorded.size > 5 * 8000
        assert app[HUMANS].running() == 0
        call_tasks = (
            "sip-call",
            "sip-pump",
            "speak-",
            "hold-music",
            "notifications",
            "stt",
            "turn",
            "keyed-turn",
            "dtmf",
        )
        leftover = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith(call_tasks)]
        assert leftover == []


async def test_booking_spoken_over_the_phone_lands_in_the_database(tmp_path: Path) -> None:
    settings = sip_settings(tmp_path)
    wav = caller_audio(
        tmp_path / "booking.wav",
        [
            (7.0, "audio/known_caller_test_drive_phone/01.wav"),
            (24.0, "audio/known_caller_test_drive_phone/02.wav"),  # after the ~18 s read-back
        ],
        tail_s=10.0,
    )
    async with sip_agent(settings) as app:
        caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), user=KNOWN_CALLER, wav=wav)
        caller.start(dial=f"sip:+15125550100@127.0.0.1:{AGENT_PORT}")  # a trunk dials the DID
        try:
            await caller.wait_calls_ended(1, 90)
        finally:
            caller.stop()
        await wait_until(lambda: active_calls(app) == 0, 10, "the call to end")
        booked = rows(
            settings.store.database_path,
            "SELECT a.scheduled_date, a.scheduled_time, a.status, c.phone"
            " FROM appointments a JOIN customers c ON c.id = a.customer_id",
        )
        assert len(booked) == 1
        assert booked[0]["status"] == "booked" and booked[0]["phone"] == KNOWN_CALLER
        assert (booked[0]["scheduled_date"], booked[0]["scheduled_time"]) == ("2026-11-28", "11:00")
        record = (await app[CALL_LOG].recent())[0]
        assert record.outcome == "booked"
        assert any("rav4" in line.text.lower() for line in record.transcript if line.role == "caller")
        assert len(record.turns) >= 2 and all(turn["voice_to_voice_ms"] > 0 for turn in record.turns)


async def test_keypad_digits_reach_the_dialog(tmp_path: Path) -> None:
    settings = sip_settings(tmp_path, escalation_min_s=30, escalation_max_s=40)
    wav = caller_audio(tmp_path / "quiet.wav", [(22.0, None)])
    async with sip_agent(settings) as app:
        caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), wav=wav)
        caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
        try:
            await wait_until(lambda: "Call established" in caller.log, 15, "the call to be answered")
            await wait_until(lambda: app[CALL_RUNNER] is not None, 1, "the runner")
            await asyncio.sleep(6)  # after the greeting
            caller.command("/sndcode 5551234567#")
            await asyncio.sleep(6)
            caller.command("/sndcode 0")
            await caller.wait_calls_ended(1, 40)
        finally:
            caller.stop()
        await wait_until(lambda: active_calls(app) == 0, 10, "the call to end")
        record = (await app[CALL_LOG].recent())[0]
        said = [line.text for line in record.transcript if line.role == "caller"]
        assert "5551234567" in said
        assert "I'd like to speak to a person" in said
        replies = " ".join(line.text for line in record.transcript if line.role == "agent").lower()
        assert "check" in replies  # the agent went looking for a person


async def test_escalation_transfers_the_call_to_the_human_with_refer(tmp_path: Path) -> None:
    human_uri = "sip:sarah@127.0.0.1:5090"
    settings = sip_settings(
        tmp_path,
        human_agents=("Sarah",),
        human_available_probability=1.0,
        escalation_min_s=2.0,
        escalation_max_s=2.5,
        human_sip_uris={"Sarah": human_uri},
        transfer_allow_list=("@127.0.0.1:5090",),
    )
    wav = caller_audio(
        tmp_path / "escalate.wav", [(7.0, "audio/escalation_to_human_phone/01.wav")], tail_s=25
    )
    async with sip_agent(settings) as app:
        human = Baresip(tmp_path / "human", 5090, 5590, (31000, 31010), user="sarah", auto_answer=True)
        human.start(seconds=90)
        caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), wav=wav)
        caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
        try:
            await wait_until(
                lambda: "Call established: sip:sarah" in caller.log, 60, "the caller to reach Sarah"
            )
            assert "Call established" in human.log
            await wait_until(lambda: active_calls(app) == 0, 10, "the agent to leave the call")
            # The caller's phone closes its leg to the agent (and that leg's recording) after it reached
            # Sarah; on a busy machine that can come a few seconds later.
            await caller.wait_calls_ended(1, 15)
        finally:
            caller.stop()
            human.stop()
        record = (await app[CALL_LOG].recent())[0]
        assert record.outcome == "transferred" and record.transferred_to == human_uri
        assert "connecting you" in (await heard_text(caller))


async def test_transfer_to_a_target_off_the_allow_list_is_refused_and_a_callback_booked(
    tmp_path: Path,
) -> None:
    settings = sip_settings(
        tmp_path,
        human_agents=("Sarah",),
        human_available_probability=1.0,
        escalation_min_s=1.0,
        escalation_max_s=1.5,
        human_sip_uris={"Sarah": "sip:sarah@127.0.0.1:5090"},
        transfer_allow_list=("@10.0.0.9",),  # Sarah's address is not on it
    )
    wav = caller_audio(
        tmp_path / "escalate.wav", [(7.0, "audio/escalation_to_human_phone/01.wav")], tail_s=18
    )
    async with sip_agent(settings) as app:
        caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), user=KNOWN_CALLER, wav=wav)
        caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
        try:
            await caller.wait_calls_ended(1, 60)
        finally:
            caller.stop()
        assert "sarah@127.0.0.1:5090" not in caller.log  # no REFER reached the caller
        await wait_until(lambda: active_calls(app) == 0, 10, "the call to end")
        record = (await app[CALL_LOG].recent())[0]
        assert record.outcome == "transfer_failed" and record.transferred_to is None
        callbacks = rows(settings.store.database_path, "SELECT phone, reason FROM callbacks")
        assert [(r["phone"], "transfer" in r["reason"]) for r in callbacks] == [(KNOWN_CALLER, True)]
        assert "call back" in (await heard_text(caller))


async def test_a_caller_whose_media_stops_is_timed_out(tmp_path: Path) -> None:
    settings = sip_settings(tmp_path, media_timeout_s=2.0)
    wav = caller_audio(tmp_path / "long.wav", [(40.0, None)])
    async with sip_agent(settings) as app:
        caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), wav=wav)
        caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
        try:
            await wait_until(lambda: active_calls(app) == 1, 15, "the call")
            await asyncio.sleep(2)
            assert caller.process is not None
            caller.process.send_signal(signal.SIGSTOP)  # a phone that froze: no RTP, no BYE
            await wait_until(lambda: active_calls(app) == 0, 20, "the media timeout")
        finally:
            if caller.process is not None:
                caller.process.send_signal(signal.SIGCONT)
            caller.stop()
        record = (await app[CALL_LOG].recent())[0]
        assert record.ended_by == "timeout"


async def test_the_receive_jitter_buffer_is_the_one_configured(tmp_path: Path) -> None:
    """Every millisecond the jitter buffer holds delays the moment the agent hears the caller stop; baresip's own
    default holds 100 ms. The call's closing log line reports the delay the stack actually used."""
    settings = sip_settings(
        tmp_path, sip_jitter_buffer="fixed", sip_jitter_buffer_min_ms=40, sip_jitter_buffer_max_ms=200
    )
    wav = caller_audio(tmp_path / "short.wav", [(4.0, None)])
    with structlog.testing.capture_logs() as logs:
        async with sip_agent(settings) as app:
            caller = Baresip(tmp_path / "caller", 5080, 5580, (30000, 30010), wav=wav)
            caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
            try:
                await caller.wait_calls_ended(1, 30)
            finally:
                caller.stop()
            await wait_until(lambda: active_calls(app) == 0, 10, "the call to end")
    closed = [line for line in logs if line["event"] == "sip_call_closed"]
    assert len(closed) == 1
    assert closed[0]["jitter_buffer_delay_ms"] == 40
    assert closed[0]["rx_lost"] == 0
