"""The shared inference worker: calls from many sessions queue one at a time, off the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agent.speech.worker import InferenceWorker

pytestmark = pytest.mark.unit


async def test_calls_run_one_at_a_time_on_one_thread_that_is_not_the_loop() -> None:
    worker = InferenceWorker("test")
    running = 0
    peak = 0
    threads: set[str] = set()
    lock = threading.Lock()

    def infer(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        threads.add(threading.current_thread().name)
        time.sleep(0.01)
        with lock:
            running -= 1
        return n * n

    results = await asyncio.gather(*(worker.run(infer, n) for n in range(6)))
    assert results == [0, 1, 4, 9, 16, 25]
    assert peak == 1
    assert len(threads) == 1
    assert threading.main_thread().name not in threads
    await worker.aclose()


async def test_the_loop_stays_responsive_while_the_worker_is_busy() -> None:
    worker = InferenceWorker("test")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    await worker.run(time.sleep, 0.2)
    task.cancel()
    assert ticks > 3
    await worker.aclose()


async def test_close_is_idempotent_and_refuses_new_work() -> None:
    worker = InferenceWorker("test")
    assert await worker.run(lambda: 42) == 42
    await worker.aclose()
    await worker.aclose()
    assert worker.closed
    with pytest.raises(RuntimeError, match="closed"):
        await worker.run(lambda: 1)


async def test_errors_reach_the_caller() -> None:
    worker = InferenceWorker("test")

    def broken() -> None:
        raise ValueError("bad audio")

    with pytest.raises(ValueError, match="bad audio"):
        await worker.run(broken)
    assert worker.queued == 0
    await worker.aclose()


async def test_a_call_given_up_while_it_runs_counts_until_its_thread_is_done() -> None:
    worker = InferenceWorker("test", threads=2)
    release = threading.Event()
    started = threading.Event()

    def infer() -> str:
        started.set()
        release.wait(5)
        return "late"

    assert worker.idle
    task = asyncio.create_task(worker.run(infer))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not worker.idle  # the thread is still decoding: other optional work must not assume a free core
    release.set()
    for _ in range(200):
        if worker.idle:
            break
        await asyncio.sleep(0.01)
    assert worker.idle
    await worker.aclose()


async def test_a_call_given_up_before_it_began_never_runs() -> None:
    worker = InferenceWorker("test")
    release = threading.Event()
    ran: list[str] = []

    def block() -> None:
        release.wait(5)

    first = asyncio.create_task(worker.run(block))
    second = asyncio.create_task(worker.run(ran.append, "second"))
    await asyncio.sleep(0.05)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    release.set()
    await first
    await worker.aclose()
    assert ran == []
    assert worker.idle
