"""LiveKit mode in headless Chromium: the page opens the microphone before its token brings the agent in."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, Request, expect

from agent.server.tokens import room_for_session
from telephony.livekit.dispatch import RoomJoiner
from telephony.livekit.room_call import LiveKitRoomCall
from tests.browser.console_harness import FAKE_MEDIA_FLAGS, ROOT, launch, screenshot, serve_agent
from tests.integration.agent_harness import agent_settings
from tests.integration.sip_peers import in_loopback_namespace

SDK = ROOT / "web_console" / "node_modules" / "livekit-client" / "dist" / "livekit-client.esm.mjs"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not in_loopback_namespace(),
        reason="the page dials the configured LiveKit URL: run inside a loopback-only namespace (scripts/test)",
    ),
    pytest.mark.skipif(
        not SDK.is_file(), reason="the LiveKit browser SDK is not installed (npm ci in web_console)"
    ),
]

MIC_BLOCKED = "Microphone blocked - allow it in the browser, or type below"
UNAVAILABLE = "The agent is not available right now"
# What the page did, in order: asked for the microphone, got it, asked for a LiveKit token; and the
# microphone tracks it was given (to see that a failed call releases them).
CALL_STEPS = """
(() => {
  window.__steps = [];
  window.__microphones = [];
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__steps.push("microphone asked");
    const stream = await getUserMedia(constraints);
    window.__microphones.push(...stream.getAudioTracks());
    window.__steps.push("microphone open");
    return stream;
  };
  const fetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    if (String(input instanceof Request ? input.url : input).includes("/api/voice/token")) {
      window.__steps.push("token asked");
    }
    return fetch(input, init);
  };
})();
"""


class RecordingJoiner(RoomJoiner):
    """Notes each room the agent was sent into; there is no LiveKit server here, so the join fails."""

    def __init__(self) -> None:
        self.rooms: list[str] = []

    async def join(self, room: str, caller_identity: str) -> LiveKitRoomCall:
        self.rooms.append(room)
        raise ConnectionError("no LiveKit server in this test")

    async def aclose(self) -> None:
        return None


@pytest.fixture
def joiner(monkeypatch: pytest.MonkeyPatch) -> RecordingJoiner:
    recording = RecordingJoiner()
    monkeypatch.setattr("agent.server.app.LiveKitRoomJoiner", lambda _access: recording)
    return recording


def token_requests(page: Page) -> list[str]:
    seen: list[str] = []

    def on_request(request: Request) -> None:
        if "/api/voice/token" in request.url:
            seen.append(request.url)

    page.on("request", on_request)
    return seen


async def test_a_refused_microphone_never_brings_the_agent_into_a_room(
    playwright: Playwright, tmp_path: Path, joiner: RecordingJoiner
) -> None:
    async with serve_agent(agent_settings(tmp_path, livekit_enabled=True)) as agent:
        # A fake microphone exists, but no fake permission prompt: headless Chromium refuses the request.
        browser = await launch(playwright, FAKE_MEDIA_FLAGS[1])
        context = await browser.new_context(permissions=[])
        page = await context.new_page()
        await page.add_init_script(CALL_STEPS)
        tokens = token_requests(page)
        await page.goto(agent.url + "/console/")
        assert (await (await page.request.get(agent.url + "/api/console/config")).json())["livekit"] is True

        await page.get_by_role("button", name="Start call").click()
        await expect(page.get_by_role("alert")).to_have_text(MIC_BLOCKED)
        await expect(page.get_by_role("button", name="Start call")).to_be_enabled()
        await expect(page.get_by_role("button", name="End call")).to_be_disabled()
        await screenshot(page, "livekit-call-microphone-blocked")
        assert await page.evaluate("window.__steps") == ["microphone asked"]
        assert tokens == []  # no token asked for...
        assert joiner.rooms == []  # ...so no agent went to wait in a room for a caller who is not coming
        await browser.close()


async def test_the_microphone_is_open_before_the_token_brings_the_agent(
    playwright: Playwright, tmp_path: Path, joiner: RecordingJoiner
) -> None:
    async with serve_agent(agent_settings(tmp_path, livekit_enabled=True)) as agent:
        browser = await launch(playwright, *FAKE_MEDIA_FLAGS)
        page = await browser.new_page()
        await page.add_init_script(CALL_STEPS)
        tokens = token_requests(page)
        await page.goto(agent.url + "/console/")

        await page.get_by_role("button", name="Start call").click()
        # The token is granted and the agent sent to the room; the page then dials a LiveKit server
        # that is not there, and says the call could not be made.
        await expect(page.get_by_role("alert")).to_have_text(UNAVAILABLE, timeout=30_000)
        await expect(page.get_by_role("button", name="Start call")).to_be_enabled()
        assert await page.evaluate("window.__steps") == ["microphone asked", "microphone open", "token asked"]
        assert len(tokens) == 1
        session_id = await page.evaluate("window.__console.sessionId")
        assert joiner.rooms == [room_for_session(session_id)]
        # The failed call let go of the microphone.
        states = await page.evaluate("window.__microphones.map(track => track.readyState)")
        assert states and set(states) == {"ended"}
        await browser.close()
