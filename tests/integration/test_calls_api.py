"""The operators' calls API over HTTP: the list, one call, its recording, bad input, and the operator token."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.audio.wav import write_wav_channels
from agent.server.keys import CALL_LOG
from tests.integration.agent_harness import AgentClient, agent_settings, running_agent

pytestmark = pytest.mark.integration


async def a_finished_call(agent: AgentClient, tmp_path: Path, call_id: str = "call-1") -> Path:
    """A call as the runner leaves it: a row with outcome, transcript and turns, and a stereo recording."""
    app = agent.http.server.app
    recording = tmp_path / "recordings" / f"{call_id}.wav"
    recording.parent.mkdir(parents=True, exist_ok=True)
    write_wav_channels(recording, [np.ones(8000, np.int16), np.zeros(8000, np.int16)], 8000)
    log = app[CALL_LOG]
    await log.start(call_id, "sip", "+15550142233")
    await log.answered(call_id, "sess_1")
    await log.finish(
        call_id,
        outcome="booked",
        ended_by="caller",
        transcript=[
            {"role": "agent", "text": "Hi Maria", "at_s": 0.0},
            {"role": "caller", "text": "an oil change"},
        ],
        turns=[{"voice_to_voice_ms": 812.5, "stt_ms": 320.0}],
        recording_path=str(recording),
    )
    return recording


async def test_operators_list_calls_read_one_and_play_its_recording(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        recording = await a_finished_call(agent, tmp_path)
        listed = await (await agent.http.get("/api/calls")).json()
        assert [c["call_id"] for c in listed["calls"]] == ["call-1"]
        one = await agent.http.get("/api/calls/call-1")
        body = await one.json()
        assert body["outcome"] == "booked" and body["caller_id"] == "+15550142233"
        assert [line["text"] for line in body["transcript"]] == ["Hi Maria", "an oil change"]
        assert body["turns"][0]["voice_to_voice_ms"] == 812.5
        audio = await agent.http.get("/api/calls/call-1/recording")
        assert audio.status == 200 and audio.headers["Content-Type"] == "audio/wav"
        assert await audio.read() == recording.read_bytes()


async def test_bad_requests_get_clear_errors(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        recording = await a_finished_call(agent, tmp_path)
        for path, status, code in [
            ("/api/calls?limit=abc", 400, "bad_parameter"),
            ("/api/calls?limit=100000", 400, "bad_parameter"),
            ("/api/calls?offset=-1", 400, "bad_parameter"),
            ("/api/calls/nope", 404, "unknown_call"),
            ("/api/calls/nope/recording", 404, "no_recording"),
        ]:
            response = await agent.http.get(path)
            assert response.status == status, path
            assert (await response.json())["error"]["code"] == code
        recording.unlink()
        gone = await agent.http.get("/api/calls/call-1/recording")
        assert gone.status == 410


async def test_outside_development_the_calls_api_needs_the_operator_token(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, environment="production", operator_token="s3cret-operator-token")
    async with running_agent(settings) as agent:
        assert (await agent.http.get("/api/calls")).status == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await agent.http.get("/api/calls", headers=wrong)).status == 401
        right = {"Authorization": "Bearer s3cret-operator-token"}
        response = await agent.http.get("/api/calls", headers=right)
        assert response.status == 200 and (await response.json()) == {"calls": []}


async def test_health_reports_no_sip_section_when_the_endpoint_is_off(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        body = await (await agent.http.get("/health")).json()
        assert body["status"] == "ok" and "sip" not in body
