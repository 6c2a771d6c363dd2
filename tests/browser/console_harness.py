"""Headless Chromium (Debian's, never a downloaded one) against the real agent app on a loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, ConsoleMessage, Page, Playwright

from agent.config import Settings
from agent.server.app import create_app
from tests.conftest import NOW

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs"
# Set to 1 to refresh the README's screenshots (docs/console.png, docs/operator.png) from this run.
UPDATE_DOCS = os.environ.get("CONSOLE_DOCS_SCREENSHOTS") == "1"
# From /work/shared/notes/telephony-lab.md ("Browser WebRTC"); the fake-media flags are added per test.
BASE_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
FAKE_MEDIA_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def require_chromium() -> None:
    if not CHROMIUM.is_file():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")


async def launch(playwright: Playwright, *flags: str) -> Browser:
    require_chromium()
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*BASE_FLAGS, *flags]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningAgent:
    app: web.Application
    url: str
    settings: Settings

    def rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with sqlite3.connect(self.settings.store.database_path) as conn:
            conn.row_factory = sqlite3.Row
            return list(conn.execute(sql, args))


@asynccontextmanager
async def serve_agent(settings: Settings, app: web.Application | None = None) -> AsyncIterator[RunningAgent]:
    """The whole app (cleanup_ctx included) on 127.0.0.1 and a free port; "now" pinned like other tests."""
    app = app or create_app(settings, clock=lambda: NOW)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield RunningAgent(app, f"http://127.0.0.1:{port}", settings)
    finally:
        await runner.cleanup()


@dataclass
class PageProblems:
    """Console errors and uncaught exceptions a page produced (a clean page has none)."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))


async def screenshot(page: Page, name: str, *, docs_name: str | None = None) -> Path:
    """Save this screen under test-artifacts/screenshots/ (and to docs/ when refreshing the README's)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if docs_name and UPDATE_DOCS:
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / docs_name)
    return path
