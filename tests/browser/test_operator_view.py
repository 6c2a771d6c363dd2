"""The operator view in headless Chromium: the token, live calls from /ws/operator, recent calls and recordings."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import numpy as np
import pytest
from playwright.async_api import Playwright, expect

from agent.audio.wav import write_wav_channels
from agent.server.events import OPERATORS
from agent.server.keys import CALL_LOG, EVENTS
from tests.browser.console_harness import PageProblems, RunningAgent, launch, screenshot, serve_agent
from tests.integration.agent_harness import agent_settings

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TOKEN = "operator-token-for-tests-0123456789"


async def a_finished_call(agent: RunningAgent, tmp_path: Path) -> None:
    """A call as the call runner leaves it: outcome, transcript, per-turn latency and a stereo recording."""
    recording = tmp_path / "recordings" / "call-done-1.wav"
    recording.parent.mkdir(parents=True, exist_ok=True)
    tone = (np.sin(np.arange(16000) * 2 * np.pi * 440 / 8000) * 3000).astype(np.int16)
    write_wav_channels(recording, [tone, np.zeros(16000, np.int16)], 8000)
    log = agent.app[CALL_LOG]
    await log.start("call-done-1", "sip", "+15550142233")
    await log.answered("call-done-1", "sess_done")
    await log.finish(
        "call-done-1",
        outcome="booked",
        ended_by="caller",
        transcript=[
            {"role": "agent", "text": "Hi Maria, thanks for calling Riverside Motors.", "at_s": 0.0},
            {"role": "caller", "text": "I need an oil change next Tuesday at 10 am", "at_s": 3.1},
            {"role": "agent", "text": "You're all set for Tuesday, December 1st.", "at_s": 4.4},
        ],
        turns=[
            {"endpoint_wait_ms": 460, "stt_ms": 610, "brain_ms": 15, "tts_first_audio_ms": 80},
            {"endpoint_wait_ms": 470, "stt_ms": 590, "brain_ms": 22, "tts_first_audio_ms": 95},
        ],
        recording_path=str(recording),
    )


async def test_operator_view_needs_the_token_then_shows_live_and_recent_calls(
    playwright: Playwright, tmp_path: Path
) -> None:
    settings = agent_settings(tmp_path, environment="production", operator_token=TOKEN)
    async with serve_agent(settings) as agent:
        await a_finished_call(agent, tmp_path)
        await agent.app[CALL_LOG].start("call-ringing-1", "sip", "+15550100001")  # live, no session yet

        async with aiohttp.ClientSession() as http:  # the operator stream refuses anyone without the token
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(agent.url + "/ws/operator")
            assert refused.value.status == 401
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(agent.url + "/ws/operator?token=wrong")

        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        problems = PageProblems()
        problems.watch(page)
        await page.goto(agent.url + "/console/operator")
        await expect(page.get_by_role("heading", name="Operator sign-in")).to_be_visible()
        await expect(page.locator("#operator-main")).to_be_hidden()
        await screenshot(page, "operator-token")

        await page.get_by_label("Operator token").fill("not-the-token")
        await page.get_by_role("button", name="Open").click()
        await expect(page.get_by_role("alert")).to_have_text("That token was not accepted.")
        await page.get_by_label("Operator token").fill(TOKEN)
        await page.get_by_role("button", name="Open").click()
        await expect(page.locator("#connection")).to_have_text("Live")

        recent = page.locator("#recent-calls tbody tr")
        await expect(recent).to_have_count(1)
        await expect(recent.first).to_contain_text("+15550142233")
        await expect(recent.first).to_contain_text("booked")
        active = page.locator("#active-calls button")
        await expect(active).to_have_count(1)
        await expect(active.first).to_contain_text("+15550100001")

        # A browser call starts on a live chat session: it appears, and its transcript streams in.
        async with aiohttp.ClientSession() as http:
            created = await (await http.post(agent.url + "/api/sessions", json={})).json()
            session_id = created["session_id"]
            await agent.app[EVENTS].publish(
                OPERATORS,
                {
                    "type": "call_started",
                    "call_id": "call-browser-1",
                    "session_id": session_id,
                    "channel": "browser",
                    "caller_id": "+15550199999",
                    "started_at": "2026-11-25T16:00:00+00:00",
                },
            )
            await expect(active).to_have_count(2)
            await page.get_by_role("button", name="+15550199999").click()
            await expect(page.locator("#detail-title")).to_contain_text("Live call")
            await expect(page.locator("#transcript li.assistant")).to_have_count(1)  # the greeting so far
            reply = await http.post(
                agent.url + "/api/chat", json={"session_id": session_id, "message": "where are you located"}
            )
            assert reply.status == 200
        await expect(page.locator("#transcript li.user")).to_have_count(1)
        await expect(page.locator("#transcript li.user")).to_contain_text("where are you located")
        await expect(page.locator("#transcript li.assistant").last).to_contain_text("Riverside")
        await expect(page.locator("#latency svg g.bar")).to_have_count(1)
        await screenshot(page, "operator-live-call")

        await agent.app[EVENTS].publish(
            OPERATORS,
            {
                "type": "call_ended",
                "call_id": "call-browser-1",
                "session_id": session_id,
                "channel": "browser",
                "outcome": "answered_question",
                "ended_by": "caller",
                "duration_s": 12.0,
            },
        )
        await expect(active).to_have_count(1)

        await recent.first.click()
        await expect(page.locator("#detail-title")).to_have_text("Call from +15550142233")
        await expect(page.locator("#transcript li")).to_have_count(3)
        await expect(page.locator("#transcript li.user")).to_contain_text("oil change next Tuesday")
        await expect(page.locator("#latency svg g.bar")).to_have_count(2)
        audio = page.locator("#recording")
        await expect(audio).to_be_visible()
        source = await audio.get_attribute("src") or ""  # a signed link: the token never goes into a URL
        assert "sig=" in source and TOKEN not in source
        duration = await audio.evaluate(
            """audio => new Promise((resolve, reject) => {
                audio.addEventListener("loadedmetadata", () => resolve(audio.duration), { once: true });
                audio.addEventListener("error", () => reject(new Error("recording failed to load")), { once: true });
                audio.load();
            })"""
        )
        assert duration == pytest.approx(2.0, abs=0.05)
        await screenshot(page, "operator-recent-call")
        # The only errors: the calls list refused without a token and with the wrong one.
        assert len(problems.errors) <= 2
        assert all("401 (Unauthorized)" in error for error in problems.errors), problems.errors
        await browser.close()
