"""One inference thread per engine: model calls from every call session queue here instead of on the event loop."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
        self._count_lock = threading.Lock()  # `_queued` goes down on a worker thread

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def queued(self) -> int:
        """Calls submitted and not yet finished (those running included, and those whose caller stopped waiting
        for them: a thread cannot be stopped mid-inference, so a cancelled call that already began still counts
        until it ends)."""
        return self._queued

    @property
    def idle(self) -> bool:
        """Nothing runs or waits here."""
        return self._queued == 0

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
        with self._count_lock:
            self._queued += 1
        job = self._executor.submit(functools.partial(fn, *args, **kwargs))
        job.add_done_callback(
            self._finished
        )  # on the thread that ran it, or here if cancelled before it began
        return await asyncio.wrap_future(job)

    def _finished(self, _job: Future[T]) -> None:
        with self._count_lock:
            self._queued -= 1

    async def aclose(self) -> None:
        """Stop accepting work and wait (off the loop) for the running call to finish; idempotent."""
        if self._closed:
            return
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
