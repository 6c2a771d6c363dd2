"""Voice calls from the call page in headless Chromium over WebRTC to the agent (real Whisper and TTS)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Page, Playwright, Route, expect

from agent.audio.resample import resample
from agent.audio.wav import read_wav
from agent.config import Settings
from tests.browser.console_harness import FAKE_MEDIA_FLAGS, PageProblems, launch, screenshot, serve_agent
from tests.integration.agent_harness import agent_settings
from tests.integration.sip_peers import in_loopback_namespace

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not in_loopback_namespace(),
        reason="browser calls run inside a loopback-only namespace (scripts/test)",
    ),
]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audio"
KNOWN_CALLER = "+1 555 014 2233"  # Maria Gonzalez in fixtures/dealership.yaml
# The page's microphone replaced by an AudioContext the test feeds turn by turn (window.__say), and the
# energy of the agent's track as the browser received it (window.__agentEnergy).
SCRIPTED_MICROPHONE = """
(() => {
  let ctx = null;
  let dest = null;
  const ensure = () => {
    if (ctx === null) {
      ctx = new AudioContext({ sampleRate: 48000 });
      dest = ctx.createMediaStreamDestination();
    }
  };
  navigator.mediaDevices.getUserMedia = async () => {
    ensure();
    await ctx.resume();
    return dest.stream;
  };
  window.__say = async (dataUrl) => {
    ensure();
    const buffer = await ctx.decodeAudioData(await (await fetch(dataUrl)).arrayBuffer());
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(dest);
    await new Promise((resolve) => { source.onended = resolve; source.start(); });
  };
})();
"""
# Every interim caller line the transcript showed (greyed, while the caller was still speaking), with how many
# final caller lines were on the page at that moment.
INTERIM_LINES = """
(() => {
  window.__interim = [];
  const record = () => {
    const list = document.querySelector("#transcript");
    if (!list) return;
    for (const line of list.querySelectorAll("li.user.interim")) {
      const text = line.querySelector(".text")?.textContent.trim() ?? "";
      if (text && !window.__interim.some((seen) => seen.text === text)) {
        window.__interim.push({ text, finals: list.querySelectorAll("li.user:not(.interim)").length });
      }
    }
  };
  new MutationObserver(record).observe(document, { childList: true, subtree: true, characterData: true });
})();
"""
AGENT_ENERGY = """async () => {
  const pc = window.__console?.call?.pc;
  if (!pc) return 0;
  let energy = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") energy = s.totalAudioEnergy ?? 0;
  });
  return energy;
}"""


def voice_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webrtc_enabled": True,
        "webrtc_host_addresses": ("127.0.0.1",),  # aioice leaves loopback out on its own
        "hold_music_after_s": 30.0,
    }
    values.update(overrides)
    return agent_settings(tmp_path, **values)


def caller_wav(tmp_path: Path, fixture: Path, lead_s: float) -> Path:
    """The fixture turn after `lead_s` of silence, 48 kHz mono, for Chromium's fake audio capture."""
    samples, rate = read_wav(fixture)
    spoken = resample(samples, rate, 48000)
    audio = np.concatenate([np.zeros(round(lead_s * 48000), np.int16), spoken, np.zeros(48000, np.int16)])
    path = tmp_path / "caller.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(audio.astype(np.int16).tobytes())
    return path


def data_url(path: Path) -> str:
    return "data:audio/wav;base64," + base64.b64encode(path.read_bytes()).decode()


async def agent_energy(page: Page) -> float:
    return float(await page.evaluate(AGENT_ENERGY))


async def wait_for_agent_audio(page: Page, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while await agent_energy(page) <= 0:
        assert time.monotonic() < deadline, "no audio from the agent reached the browser"
        await asyncio.sleep(0.25)


async def wait_until_agent_quiet(page: Page, quiet_s: float = 1.5, timeout_s: float = 60.0) -> None:
    """Until the agent's received audio has not grown in energy for `quiet_s` (it finished speaking)."""
    deadline = time.monotonic() + timeout_s
    last, since = await agent_energy(page), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "the agent never stopped talking"
        await asyncio.sleep(0.25)
        energy = await agent_energy(page)
        if energy - last > 1e-4:
            last, since = energy, time.monotonic()


async def test_a_voice_call_from_a_fake_microphone_is_greeted_heard_and_listed_for_operators(
    playwright: Playwright, tmp_path: Path
) -> None:
    wav = caller_wav(tmp_path, FIXTURES / "oil_change_price" / "01.wav", lead_s=6.0)
    async with serve_agent(voice_settings(tmp_path)) as agent:
        browser = await launch(
            playwright, *FAKE_MEDIA_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"
        )
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        problems = PageProblems()
        problems.watch(page)
        await page.goto(agent.url + "/console/")
        await page.get_by_role("button", name="Start call").click()
        await expect(page.get_by_role("button", name="End call")).to_be_enabled()
        await expect(page.locator("#call-status")).to_contain_text(
            "connected", ignore_case=True, timeout=15_000
        )
        await wait_for_agent_audio(page)  # the greeting, as the browser received it

        caller = page.locator("#transcript li.user")
        await expect(caller.last).to_contain_text("oil change", ignore_case=True, timeout=40_000)
        await expect(page.locator("#transcript li.assistant").last).to_contain_text("dollars", timeout=20_000)
        await expect(page.locator("#latency svg g.bar")).to_have_count(1)
        await screenshot(page, "voice-call-answered")

        operator = await browser.new_page(viewport={"width": 1280, "height": 900})
        await operator.goto(agent.url + "/console/operator")
        live = operator.locator("#active-calls button")
        await expect(live).to_have_count(1)
        await expect(live.first).to_contain_text("Browser")
        await live.first.click()
        await expect(operator.locator("#transcript li.user")).to_contain_text("oil change", ignore_case=True)
        await screenshot(operator, "voice-call-operator-live")

        await page.get_by_role("button", name="End call").click()
        await expect(page.get_by_role("button", name="Start call")).to_be_enabled()
        await expect(live).to_have_count(0, timeout=15_000)
        recent = operator.locator("#recent-calls tbody tr")
        await expect(recent).to_have_count(1)
        await expect(recent.first).to_contain_text("answered_question")
        await screenshot(operator, "voice-call-operator-ended")
        assert problems.errors == []
        await browser.close()


async def test_a_test_drive_booked_by_voice_fills_the_slots_and_the_database(
    playwright: Playwright, tmp_path: Path
) -> None:
    turns = sorted((FIXTURES / "known_caller_test_drive").glob("*.wav"))
    assert len(turns) == 2
    async with serve_agent(voice_settings(tmp_path)) as agent:
        browser = await launch(playwright, *FAKE_MEDIA_FLAGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.add_init_script(SCRIPTED_MICROPHONE)
        await page.add_init_script(INTERIM_LINES)

        async def as_known_caller(route: Route) -> None:  # the caller id a phone line would carry
            await route.continue_(post_data=json.dumps({"phone": KNOWN_CALLER}))

        await page.route("**/api/sessions", as_known_caller)
        await page.goto(agent.url + "/console/")
        await page.get_by_role("button", name="Start call").click()
        await expect(page.locator("#call-status")).to_contain_text(
            "connected", ignore_case=True, timeout=15_000
        )
        await expect(page.locator('[data-slot="customer-name"]')).to_have_text("Maria")  # first name only
        await wait_for_agent_audio(page)
        await wait_until_agent_quiet(page)

        agent_lines = page.locator("#transcript li.assistant")
        await page.evaluate("url => window.__say(url)", data_url(turns[0]))
        await expect(page.locator("#transcript li.user").last).to_contain_text("test drive", ignore_case=True)
        # While she was still speaking, her words so far were shown (greyed) before the final line.
        interim = await page.evaluate("window.__interim")
        assert any(line["finals"] == 0 for line in interim), interim
        await expect(page.locator("#transcript li.interim")).to_have_count(0)  # the final line replaced it
        await expect(agent_lines.last).to_contain_text("November 28th", timeout=40_000)
        await expect(page.locator('[data-slot="booking"]')).to_have_text("Book test drive")
        await expect(page.locator('[data-slot="date"]')).to_have_text("Sat, Nov 28, 2026")
        await expect(page.locator('[data-slot="time"]')).to_have_text("11:00 am")
        await wait_until_agent_quiet(page)

        await page.evaluate("url => window.__say(url)", data_url(turns[1]))
        await expect(agent_lines.last).to_contain_text("confirmation code", timeout=40_000)
        await expect(page.locator('[data-slot="booking-status"]')).to_have_text("Confirmed")
        code = (await page.locator('[data-slot="code"]').inner_text()).strip()
        await expect(page.locator("#latency svg g.bar")).to_have_count(2)
        await wait_until_agent_quiet(page)
        await screenshot(page, "voice-booking-confirmed", docs_name="console.png")

        rows = agent.rows(
            "SELECT a.confirmation_code, a.appointment_type, a.scheduled_date, a.scheduled_time, c.name"
            " FROM appointments a JOIN customers c ON c.id = a.customer_id"
        )
        assert [tuple(row) for row in rows] == [(code, "test_drive", "2026-11-28", "11:00", "Maria Gonzalez")]

        await page.get_by_role("button", name="End call").click()
        operator = await browser.new_page(viewport={"width": 1280, "height": 900})
        await operator.goto(agent.url + "/console/operator")
        recent = operator.locator("#recent-calls tbody tr")
        await expect(recent.first).to_contain_text("booked", timeout=15_000)
        await recent.first.click()
        await expect(operator.locator("#transcript li.user")).to_have_count(2)
        await expect(operator.locator("#recording")).to_be_visible()
        await screenshot(operator, "voice-booking-operator", docs_name="operator.png")
        await browser.close()
