"""The spoken acknowledgement while a slow dialog turn is worked out: said once, only when the turn is slow."""

from __future__ import annotations

import asyncio

import pytest

from agent.calls.thinking import acknowledged

pytestmark = pytest.mark.unit


async def _answer(after_s: float, value: str) -> str:
    await asyncio.sleep(after_s)
    return value


async def test_a_slow_turn_is_acknowledged_once_and_still_answered() -> None:
    said: list[str] = []
    result = await acknowledged(_answer(0.3, "booked"), 0.05, lambda: said.append("One moment."))
    assert result == "booked" and said == ["One moment."]


async def test_a_quick_turn_or_no_setting_is_never_acknowledged() -> None:
    said: list[str] = []
    assert await acknowledged(_answer(0.0, "hi"), 0.5, lambda: said.append("One moment.")) == "hi"
    assert await acknowledged(_answer(0.05, "hi"), None, lambda: said.append("One moment.")) == "hi"
    assert said == []


async def test_cancelling_the_wait_cancels_the_turn_too() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def turn() -> str:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    waiting = asyncio.create_task(acknowledged(turn(), 0.01, lambda: None))
    await started.wait()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert cancelled.is_set()
