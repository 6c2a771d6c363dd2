"""A short spoken acknowledgement when the dialog takes long to answer (an LLM brain on a CPU)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from agent.log import get_logger

log = get_logger(__name__)
Result = TypeVar("Result")


async def acknowledged(
    work: Coroutine[Any, Any, Result], after_s: float | None, acknowledge: Callable[[], object]
) -> Result:
    """Await `work`; if it is not done within `after_s` seconds, call `acknowledge` once (the caller hears
    "One moment." instead of silence) and keep waiting. Cancelling this cancels the work too."""
    if after_s is None:
        return await work
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=after_s)
        if not done:
            log.info("thinking_acknowledged", after_s=after_s)
            acknowledge()
        return await task
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
