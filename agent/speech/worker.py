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
    """The executor owned by one engine: `threads` inferences at once (one by default), the rest queue.

    An engine whose single inference cannot use both cores (Whisper tiny.en decodes as fast on one thread as on
    two) runs two at once, one per core; others queue, which gives the first caller its answer sooner and the
    second no later. The threads are created on first use and joined by close().
    """

    def __init__(self, name: str, threads: int = 1) -> None:
        if threads < 1:
            raise ValueError("an inference worker needs at least one thread")
        self.name = name
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._queued = 0

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def queued(self) -> int:
        """Calls submitted and not yet finished (those running included)."""
        return self._queued

    @property
    def saturated(self) -> bool:
        """Every thread has work: a new call would wait."""
        return self._queued >= self.threads

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run fn(*args, **kwargs) on the worker thread and await its result."""
        if self._closed:
            raise RuntimeError(f"{self.name} worker is closed")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix=self.name)
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
