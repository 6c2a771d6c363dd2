"""Fixtures for the browser tests: Playwright (never downloading a browser), no model hub, a temp agent."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Playwright, async_playwright

os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"


@pytest.fixture(scope="session", autouse=True)
def offline() -> Iterator[None]:
    """Any attempt to reach a model hub fails instead of downloading."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver
