"""One inference thread per engine: model calls from every call session queue here instead of on the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class InferenceWorker:
    """A single-thread executor owned by one engine.

    On a 2-core machine two inferences at once each take twice as long, so a queue gives the first caller its
    answer sooner and the second no later. The thread is created on first use and joined by close().
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._queued = 0

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def queued(self) -> int:
        """Calls submitted and not yet finished (the one running included)."""
        return self._queued

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run fn(*args, **kwargs) on the worker thread and await its result."""
        if self._closed:
            raise RuntimeError(f"{self.name} worker is closed")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        loop = asyncio.get_running_loop()
        self._queued += 1
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))
        finally:
            self._queued -= 1

    async def aclose(self) -> None:
        """Stop accepting work and wait (off the loop) for the running call to finish; idempotent."""
        if self._closed:
            return
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
