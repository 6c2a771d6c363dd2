"""The booking write path on SQLite and on PostgreSQL: bookings/s and p50/p95 latency for N concurrent bookers.

Usage: python -m benchmarks.store_bookings [--bookers 1,4,16] [--bookings 400] [--processes 1,2]
                                           [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
Each run starts from a freshly seeded database: a temporary SQLite file, or a scratch database created on
the PostgreSQL server named by --postgres-url (and dropped afterwards; the engine is skipped when the server
does not answer). `bookers` tasks, spread over `processes` OS processes that each open their own Database,
book service visits through `Scheduling.book` until `bookings` are made. Slots are handed out in order, each
twice (the two bays), so two bookers often meet in one slot, as callers do. Then the race: every booker asks
for one more slot at the same moment; the two bays go to two of them, the others are refused with the
nearest free times. Prints one line per run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from agent.log import configure_logging
from agent.store.availability import load_calendar
from agent.store.backends import open_database_at
from agent.store.models import Appointment
from agent.store.scheduling import Scheduling, SlotUnavailable

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=TZ)  # a Monday morning, two months of slots ahead
SEED = Path(__file__).resolve().parents[1] / "fixtures" / "dealership.yaml"
CUSTOMERS = 5  # the seeded customers


@dataclass(frozen=True)
class Target:
    """Where one run's data lives (a SQLite path, or a PostgreSQL URL)."""

    path: Path
    url: str | None


@dataclass
class WorkerResult:
    latencies_s: list[float]
    started: float
    finished: float
    race_booked: int
    race_refused: int
    race_s: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def slot_plan(target: Target, bookings: int) -> tuple[list[datetime], datetime]:
    """The slots to book in order (each twice, for the two bays) and one more slot for the race."""
    db = await open_database_at(target.path, SEED, target.url)
    try:
        calendar = await load_calendar(db, TZ, "service", 30)
    finally:
        await db.aclose()
    slots: list[datetime] = []
    day = NOW.date() + timedelta(days=1)
    while len(slots) < bookings // 2 + 1:
        slots.extend(calendar.slots_on(day))
        day += timedelta(days=1)
    race = slots[bookings // 2]
    return [slot for slot in slots[: (bookings + 1) // 2] for _ in range(2)][:bookings], race


async def run_worker(
    target: Target, slots: list[datetime], race: datetime, bookers: int, start: Barrier
) -> WorkerResult:
    db = await open_database_at(target.path, None, target.url)
    scheduling = Scheduling(db, TZ)
    queue: asyncio.Queue[datetime] = asyncio.Queue()
    for slot in slots:
        queue.put_nowait(slot)
    latencies: list[float] = []

    async def booker(number: int) -> None:
        while not queue.empty():
            slot = queue.get_nowait()
            began = time.perf_counter()
            await scheduling.book(
                kind="service", when=slot, customer_id=1 + number % CUSTOMERS, duration_min=45, now=NOW
            )
            latencies.append(time.perf_counter() - began)

    async def racer(number: int) -> Appointment | SlotUnavailable:
        try:
            return await scheduling.book(
                kind="service", when=race, customer_id=1 + number % CUSTOMERS, duration_min=45, now=NOW
            )
        except SlotUnavailable as refused:
            assert refused.availability.alternatives, "a refused racer must be offered other times"
            return refused

    try:
        await asyncio.to_thread(start.wait)
        started = time.time()
        await asyncio.gather(*(booker(number) for number in range(bookers)))
        finished = time.time()
        await asyncio.to_thread(start.wait)
        race_began = time.perf_counter()
        outcomes = await asyncio.gather(*(racer(number) for number in range(bookers)))
        race_s = time.perf_counter() - race_began
    finally:
        await db.aclose()
    booked = sum(isinstance(outcome, Appointment) for outcome in outcomes)
    return WorkerResult(latencies, started, finished, booked, len(outcomes) - booked, race_s)


def worker_process(
    target: Target,
    slots: list[datetime],
    race: datetime,
    bookers: int,
    start: Barrier,
    out: multiprocessing.Queue[WorkerResult],
) -> None:
    configure_logging("warning", json=True)
    out.put(asyncio.run(run_worker(target, slots, race, bookers, start)))


def run_level(target: Target, processes: int, bookers: int, bookings: int) -> list[WorkerResult]:
    """Seed, then run the bookers in `processes` processes (one process: in this one)."""
    slots, race = asyncio.run(slot_plan(target, bookings))
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    if processes == 1:
        return [asyncio.run(run_worker(target, slots, race, bookers, start))]
    out = context.Queue()
    share = max(1, bookers // processes)
    workers = [
        context.Process(
            target=worker_process, args=(target, slots[index::processes], race, share, start, out)
        )
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    return results


async def scratch_database(admin_url: str) -> str | None:
    """Create an empty database on the server; None when the server does not answer."""
    name = f"bench_bookings_{secrets.token_hex(4)}"
    try:
        conn = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def report(engine: str, processes: int, bookers: int, results: list[WorkerResult]) -> None:
    latencies = [value for result in results for value in result.latencies_s]
    wall = max(result.finished for result in results) - min(result.started for result in results)
    won = sum(result.race_booked for result in results)
    lost = sum(result.race_refused for result in results)
    print(
        f"{engine:<10} {processes:>5} {bookers:>7} {len(latencies):>8} {len(latencies) / wall:>10.0f}"
        f" {percentile(latencies, 0.5) * 1000:>7.1f} {percentile(latencies, 0.95) * 1000:>7.1f}"
        f"   {won}/{lost:<6} {max(result.race_s for result in results) * 1000:>8.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookers", default="1,4,16")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    configure_logging("warning", json=True)
    print("engine     procs bookers bookings bookings/s  p50 ms  p95 ms   race won/refused  race ms")
    for engine in ("sqlite", "postgresql"):
        for processes in (int(value) for value in args.processes.split(",")):
            for bookers in (int(value) for value in args.bookers.split(",")):
                if bookers < processes:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    if engine == "sqlite":
                        results = run_level(
                            Target(Path(tmp) / "bench.db", None), processes, bookers, args.bookings
                        )
                        report(engine, processes, bookers, results)
                        continue
                    name = asyncio.run(scratch_database(args.postgres_url))
                    if name is None:
                        print(f"postgresql: no server answers at {args.postgres_url}; skipped")
                        return
                    url = args.postgres_url.rsplit("/", 1)[0] + f"/{name}"
                    try:
                        results = run_level(
                            Target(Path(tmp) / "unused.db", url), processes, bookers, args.bookings
                        )
                    finally:
                        asyncio.run(drop_database(args.postgres_url, name))
                    report(engine, processes, bookers, results)


if __name__ == "__main__":
    main()
