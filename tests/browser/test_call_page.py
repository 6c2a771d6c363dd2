"""The customer call page in headless Chromium: chat booking, slots, reconnects, and its error states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, Route, WebSocketRoute, expect

from agent.calls.turn_record import TurnRecord
from agent.server.keys import CONVERSATIONS, EVENTS
from tests.browser.console_harness import (
    FAKE_MEDIA_FLAGS,
    PageProblems,
    launch,
    screenshot,
    serve_agent,
)
from tests.integration.agent_harness import agent_settings

pytestmark = [pytest.mark.integration, pytest.mark.browser]

UNAVAILABLE = "The agent is not available right now"
# The oil change booking of fixtures/scenarios/conversations.yaml, typed; the reply of each turn has these words.
BOOKING_TURNS = [
    ("Hi, I'd like to book an oil change please", "day"),
    ("next Tuesday at 10 in the morning", "name"),
    ("my name is John Smith", "phone"),
    ("it's five five five, oh one four, nine eight seven six", "read that back"),
    ("john dot smith at gmail dot com", "December 1st"),
    ("yes that's right", "confirmation code"),
]


async def type_message(page: Page, text: str) -> None:
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def test_page_loads_cleanly_and_a_typed_booking_fills_the_slots(
    playwright: Playwright, tmp_path: Path
) -> None:
    async with serve_agent(agent_settings(tmp_path)) as agent:
        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        problems = PageProblems()
        problems.watch(page)
        await page.goto(agent.url + "/")
        assert page.url == agent.url + "/console/"
        await expect(page.get_by_role("button", name="Start call")).to_be_enabled()
        await expect(page.locator("#latency svg")).to_be_visible()
        await screenshot(page, "call-page-start")

        agent_lines = page.locator("#transcript li.assistant")
        for turn, (said, reply_has) in enumerate(BOOKING_TURNS, start=1):
            await type_message(page, said)
            await expect(page.locator("#transcript li.user").last).to_contain_text(said)
            await expect(agent_lines).to_have_count(turn + 1)  # the greeting, then one reply per turn
            await expect(agent_lines.last).to_contain_text(reply_has, ignore_case=True)
            if turn == 1:
                await expect(page.locator("#connection")).to_have_text("Connected")
                await expect(page.locator('[data-slot="service"]')).to_have_text("Oil change")
                await expect(page.locator('[data-slot="agent"]')).to_have_text("Booking")
                await expect(page.locator('[data-slot="intent"]')).to_contain_text("%")

        await expect(page.locator('[data-slot="date"]')).to_have_text("Tue, Dec 1, 2026")
        await expect(page.locator('[data-slot="time"]')).to_have_text("10:00 am")
        await expect(page.locator('[data-slot="name"]')).to_have_text("John Smith")
        await expect(page.locator('[data-slot="phone"]')).to_contain_text("555")
        await expect(page.locator('[data-slot="email"]')).to_have_text("john.smith@gmail.com")
        await expect(page.locator('[data-slot="booking-status"]')).to_have_text("Confirmed")
        await expect(page.locator("#latency svg g.bar")).to_have_count(len(BOOKING_TURNS))
        code = (await page.locator('[data-slot="code"]').inner_text()).strip()
        await screenshot(page, "call-page-booked")

        rows = agent.rows(
            "SELECT a.confirmation_code, a.scheduled_date, a.scheduled_time, c.name FROM appointments a"
            " JOIN customers c ON c.id = a.customer_id"
        )
        assert [tuple(row) for row in rows] == [(code, "2026-12-01", "10:00", "John Smith")]
        assert problems.errors == []
        await browser.close()


async def test_a_dropped_event_stream_shows_reconnecting_then_recovers(
    playwright: Playwright, tmp_path: Path
) -> None:
    async with serve_agent(agent_settings(tmp_path)) as agent:
        browser = await launch(playwright)
        page = await browser.new_page()
        routes: list[WebSocketRoute] = []
        blocked = False

        async def route_socket(socket: WebSocketRoute) -> None:
            if blocked:
                await socket.close(code=1011, reason="test: the network is down")
                return
            routes.append(socket)
            socket.connect_to_server()

        await page.route_web_socket("**/ws/*", route_socket)
        await page.goto(agent.url + "/console/")
        await type_message(page, "where are you located")
        await expect(page.locator("#connection")).to_have_text("Connected")
        await expect(page.locator("#transcript li.assistant")).to_have_count(2)

        blocked = True
        await routes[-1].close(code=1006, reason="test: connection lost")
        await expect(page.locator("#connection")).to_have_text("Reconnecting...")
        await screenshot(page, "call-page-reconnecting")

        blocked = False
        await expect(page.locator("#connection")).to_have_text("Connected", timeout=20_000)
        session_id = await page.evaluate("window.__console.sessionId")
        await agent.app[EVENTS].publish(
            session_id,
            {
                "type": "notification",
                "session_id": session_id,
                "message": "Sarah is free now",
                "priority": "interrupt",
            },
        )
        await expect(page.locator("[data-list=notifications] li")).to_have_text(["Sarah is free now"])
        await type_message(page, "what are your service hours on saturday")
        await expect(page.locator("#transcript li.assistant")).to_have_count(3)
        await expect(page.locator("#transcript li.user")).to_have_count(2)
        await screenshot(page, "call-page-reconnected")
        await browser.close()


async def bar_stages(page: Page) -> list[list[str]]:
    """The stages drawn in each bar of the latency chart, bar by bar."""
    return list(
        await page.locator("#latency svg g.bar").evaluate_all(
            "bars => bars.map(bar => [...bar.querySelectorAll('rect')].map(rect => rect.dataset.stage))"
        )
    )


async def test_a_turn_typed_while_a_spoken_one_is_answered_gets_its_own_latency_bar(
    playwright: Playwright, tmp_path: Path
) -> None:
    async with serve_agent(agent_settings(tmp_path)) as agent:
        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(agent.url + "/console/")
        bars = page.locator("#latency svg g.bar")
        await type_message(page, "where are you located")
        await expect(bars).to_have_count(1)
        session_id = await page.evaluate("window.__console.sessionId")

        # A spoken turn, as a call runs it: the dialog reports its time now, the call the whole turn later
        # (once the reply's first audio played); the caller types another question in between.
        spoken = await agent.app[CONVERSATIONS].handle_turn(session_id, "what are your service hours")
        await expect(bars).to_have_count(2)
        await type_message(page, "do you sell used cars")
        await expect(page.locator("#transcript li.assistant")).to_have_count(4)
        await expect(bars).to_have_count(3)
        record = TurnRecord(
            caller_text="what are your service hours",
            agent_text=spoken.reply,
            agent=spoken.state.current_agent,
            speech_end_s=12.0,
            endpoint_wait_ms=420.0,
            stt_ms=180.0,
            brain_ms=spoken.processing_ms,
            tts_first_audio_ms=90.0,
            voice_to_voice_ms=700.0 + spoken.processing_ms,
            turn_id=spoken.turn_id,
        )
        await agent.app[EVENTS].publish(session_id, record.latency_event(session_id))

        await expect(bars.nth(1).locator('rect[data-stage="stt"]')).to_have_count(1)
        assert await bar_stages(page) == [["brain"], ["wait", "stt", "brain", "tts"], ["brain"]]
        await screenshot(page, "call-page-latency-typed-and-spoken")
        await browser.close()


async def test_agent_unavailable_is_said_plainly_and_the_page_recovers(
    playwright: Playwright, tmp_path: Path
) -> None:
    async with serve_agent(agent_settings(tmp_path)) as agent:
        browser = await launch(playwright)
        page = await browser.new_page()
        await page.goto(agent.url + "/console/")

        async def busy(route: Route) -> None:
            body = {"error": {"code": "unavailable", "message": "Try again in a minute."}}
            await route.fulfill(status=503, content_type="application/json", body=json.dumps(body))

        await page.route("**/api/sessions", busy)
        await type_message(page, "hello")
        await expect(page.get_by_role("alert")).to_contain_text(UNAVAILABLE)
        await screenshot(page, "call-page-agent-unavailable")
        await page.unroute("**/api/sessions")

        await page.route("**/api/sessions", lambda route: route.abort("connectionrefused"))
        await page.get_by_role("button", name="Start call").click()
        await expect(page.get_by_role("alert")).to_have_text(UNAVAILABLE)
        await expect(page.get_by_role("button", name="Start call")).to_be_enabled()
        await page.unroute("**/api/sessions")

        await expect(page.get_by_label("Message")).to_have_value("hello")  # kept for a retry
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("#transcript li.assistant")).to_have_count(2)
        await expect(page.get_by_role("alert")).to_be_hidden()
        await browser.close()


async def test_a_refused_microphone_says_how_to_fix_it_and_chat_still_works(
    playwright: Playwright, tmp_path: Path
) -> None:
    async with serve_agent(agent_settings(tmp_path)) as agent:
        # A fake microphone exists, but no fake permission prompt: headless Chromium refuses the request.
        browser = await launch(playwright, FAKE_MEDIA_FLAGS[1])
        context = await browser.new_context(permissions=[])
        page = await context.new_page()
        await page.goto(agent.url + "/console/")
        await page.get_by_role("button", name="Start call").click()
        await expect(page.get_by_role("alert")).to_have_text(
            "Microphone blocked - allow it in the browser, or type below"
        )
        await expect(page.get_by_role("button", name="Start call")).to_be_enabled()
        await expect(page.get_by_role("button", name="End call")).to_be_disabled()
        await screenshot(page, "call-page-microphone-blocked")
        await type_message(page, "where are you located")
        await expect(page.locator("#transcript li.assistant")).to_have_count(2)
        await browser.close()
