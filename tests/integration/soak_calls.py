"""Calls placed one after another on a few lanes (real baresip callers asking a question), with the agent
process's memory, file descriptors, threads and asyncio tasks sampled as they go: for the soak test and
`python -m benchmarks.soak`."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.floods import ProcessFigures
from tests.integration.sip_agent import AGENT_PORT
from tests.integration.sip_peers import Baresip, caller_audio

QUESTIONS = ("audio/location/01.wav", "audio/service_hours_saturday/01.wav", "audio/financing/01.wav")


@dataclass(frozen=True)
class Sample:
    at_s: float
    calls: int
    figures: ProcessFigures
    threads: int


@dataclass
class Soak:
    """Samples of one soak run, and the calls each lane placed."""

    samples: list[Sample] = field(default_factory=list)
    calls: int = 0
    failed: int = 0

    def table(self) -> str:
        lines = ["  min  calls   RSS MiB   fds  tasks  threads"]
        for sample in self.samples:
            figures = sample.figures
            lines.append(
                f"  {sample.at_s / 60:4.1f}  {sample.calls:5d}  {figures.rss_mib:8.0f}  {figures.fds:4d}"
                f"  {figures.tasks:5d}  {sample.threads:7d}"
            )
        return "\n".join(lines)

    def drift(self) -> dict[str, float]:
        """Median of the last third of the samples minus the median of the first third (after warm-up)."""
        if len(self.samples) < 3:
            return {}
        third = max(1, len(self.samples) // 3)
        first, last = self.samples[:third], self.samples[-third:]

        def change(measure: Callable[[Sample], float]) -> float:
            return statistics.median(map(measure, last)) - statistics.median(map(measure, first))

        return {
            "rss_mib": round(change(lambda s: s.figures.rss_mib), 1),
            "fds": change(lambda s: s.figures.fds),
            "tasks": change(lambda s: s.figures.tasks),
            "threads": change(lambda s: s.threads),
        }


async def _lane(work: Path, index: int, wav: Path, until: Callable[[], bool], soak: Soak) -> None:
    placed = 0
    while not until():
        folder = work / f"lane{index}-{placed}"
        caller = Baresip(
            folder, 5080 + 2 * index, 5580 + index, (30000 + 20 * index, 30010 + 20 * index), wav=wav
        )
        caller.start(dial=f"sip:agent@127.0.0.1:{AGENT_PORT}")
        try:
            await caller.wait_calls_ended(1, 60)
            soak.calls += 1
        except AssertionError:
            soak.failed += 1
        finally:
            caller.stop()
        shutil.rmtree(folder, ignore_errors=True)
        placed += 1


async def soak_calls(
    work: Path, *, lanes: int, until: Callable[[Soak], bool], sample_every_s: float = 30.0
) -> Soak:
    """Place calls on `lanes` lanes until `until(soak)`; each caller asks one question and hangs up."""
    soak = Soak()
    work.mkdir(parents=True, exist_ok=True)
    wavs = [
        caller_audio(work / f"question{i}.wav", [(3.0, QUESTIONS[i % len(QUESTIONS)])], tail_s=7.0)
        for i in range(lanes)
    ]
    started = time.monotonic()

    def done() -> bool:
        return until(soak)

    async def sampler() -> None:
        while True:
            soak.samples.append(
                Sample(time.monotonic() - started, soak.calls, ProcessFigures.now(), threading.active_count())
            )
            await asyncio.sleep(sample_every_s)

    sampling = asyncio.create_task(sampler())
    try:
        await asyncio.gather(*(_lane(work, index, wavs[index], done, soak) for index in range(lanes)))
    finally:
        sampling.cancel()
        await asyncio.gather(sampling, return_exceptions=True)
    return soak
