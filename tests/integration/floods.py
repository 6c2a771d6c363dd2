"""Floods for the fault tests and benchmarks: SIPp INVITE blasts from one address while legitimate SIPp calls
come from another; HTTP and WebSocket floods from one client while another is served; process figures."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.integration.sip_agent import AGENT_PORT
from tests.integration.sip_peers import sipp
from tests.integration.sipp_scenarios import TracedMessage, invite, pause, scenario, send, traced_messages

LEGIT_ADDRESS = "127.0.0.1"
FLOOD_ADDRESS = "127.0.0.2"


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid: int | str = "self") -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


@dataclass(frozen=True)
class ProcessFigures:
    """What a leak would grow: resident memory, file descriptors, asyncio tasks (this process)."""

    rss_mib: float
    fds: int
    tasks: int

    @classmethod
    def now(cls) -> ProcessFigures:
        gc.collect()
        return cls(rss_mib(), open_fds(), len(asyncio.all_tasks()))

    def line(self) -> str:
        return f"RSS {self.rss_mib:.0f} MiB, {self.fds} fds, {self.tasks} tasks"


def flood_scenario(path: Path) -> Path:
    """One INVITE per call and nothing else: no ACK, no BYE, as a scanner or a flood sends them."""
    return scenario(path, "flood", [send(invite()), pause(20)])


async def invite_flood(work: Path, rate_per_s: int, seconds: float) -> int:
    """Blast INVITEs from FLOOD_ADDRESS for `seconds` (SIPp, new Call-ID each); returns how many were sent."""
    work.mkdir(parents=True, exist_ok=True)
    total = int(rate_per_s * seconds)
    args = [f"127.0.0.1:{AGENT_PORT}", "-sf", str(flood_scenario(work / "flood.xml")), "-m", str(total)]
    args += ["-r", str(rate_per_s), "-rp", "1000", "-l", str(total), "-i", FLOOD_ADDRESS, "-p", "5096"]
    args += [
        "-s",
        "agent",
        "-timeout",
        f"{int(seconds) + 20}s",
        "-timeout_error",
        "-max_recv_loops",
        "100000",
    ]
    done = await asyncio.to_thread(sipp, args, work, seconds + 30)
    trace = work / "messages.log"
    sent = [m for m in traced_messages(trace) if m.sent] if trace.exists() else []
    if not sent:
        print(done.stdout[-2000:], done.stderr[-2000:])
    return len({m.headers.get("call-id") for m in sent if m.start_line.startswith("INVITE")})


def answered_calls(messages: list[TracedMessage]) -> tuple[int, int]:
    """(calls answered 200, calls attempted), by Call-ID, from a SIPp trace."""
    attempted = {m.headers.get("call-id") for m in messages if m.sent and m.start_line.startswith("INVITE ")}
    answered = {
        m.headers.get("call-id")
        for m in messages
        if not m.sent and m.status == 200 and m.cseq_method == "INVITE"
    }
    return len(answered & attempted), len(attempted)


async def legitimate_calls(work: Path, steps: list[str], calls: int, at_once: int = 2) -> tuple[int, int]:
    """`calls` answered-and-hung-up calls from LEGIT_ADDRESS, `at_once` at a time: (answered, attempted)."""
    work.mkdir(parents=True, exist_ok=True)
    file = scenario(work / "legit.xml", "legit", steps)
    args = [f"127.0.0.1:{AGENT_PORT}", "-sf", str(file), "-m", str(calls), "-l", str(at_once), "-r", "2"]
    args += ["-i", LEGIT_ADDRESS, "-p", "5095", "-s", "agent", "-timeout", f"{calls * 8 + 30}s"]
    await asyncio.to_thread(sipp, args, work, calls * 8 + 40)
    trace = work / "messages.log"
    return answered_calls(traced_messages(trace)) if trace.exists() else (0, calls)


@dataclass
class HttpFloodResult:
    requests: int = 0
    statuses: dict[int, int] | None = None
    sockets_opened: int = 0
    sockets_refused: dict[int, int] = field(default_factory=dict)  # by status (a cap per client: 429)
    errors: int = 0
    first_error: str = ""


async def http_flood(
    base_url: str, seconds: float, *, source: str, concurrency: int = 50, max_sockets: int = 300
) -> HttpFloodResult:
    """From `source`: session creations and bad chat turns as fast as `concurrency` clients can, and event
    streams opened (five on each session it got) and held open, up to `max_sockets`, for `seconds`."""
    result = HttpFloodResult(statuses={})
    connector = aiohttp.TCPConnector(limit=concurrency + max_sockets, local_addr=(source, 0))
    deadline = time.monotonic() + seconds
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as http:

        async def worker(index: int) -> None:
            while time.monotonic() < deadline:
                try:
                    async with http.post(f"{base_url}/api/sessions", json={}) as response:
                        _count(result, response.status)
                        body = await response.read()
                    if response.status == 201:
                        session = json.loads(body)["session_id"]
                        for _ in range(min(5, max_sockets - len(sockets))):
                            try:
                                sockets.append(await http.ws_connect(f"{base_url}/ws/{session}"))
                                result.sockets_opened += 1
                            except aiohttp.WSServerHandshakeError as refused:
                                result.sockets_refused[refused.status] = (
                                    result.sockets_refused.get(refused.status, 0) + 1
                                )
                    async with http.post(f"{base_url}/api/chat", data=b"{not json") as response:
                        _count(result, response.status)
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    result.errors += 1
                    result.first_error = result.first_error or repr(exc)[:200]
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(worker(index) for index in range(concurrency)))
        for ws in sockets:
            await ws.close()
    return result


def _count(result: HttpFloodResult, status: int) -> None:
    assert result.statuses is not None
    result.requests += 1
    result.statuses[status] = result.statuses.get(status, 0) + 1


async def served_meanwhile(
    base_url: str, until: Callable[[], bool], *, source: str = LEGIT_ADDRESS
) -> tuple[int, int, int]:
    """A legitimate client on `source`: a session, its event stream, and a chat turn every 0.5 s until
    `until()`: (turns answered 200, turns tried, events received on its WebSocket)."""
    answered = tried = events = 0
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=15)) as http:
        async with http.post(f"{base_url}/api/sessions", json={}) as response:
            session = (await response.json())["session_id"]
        async with http.ws_connect(f"{base_url}/ws/{session}") as ws:
            while not until():
                tried += 1
                chat = {"session_id": session, "message": "what are your service department hours"}
                try:
                    async with http.post(f"{base_url}/api/chat", json=chat) as response:
                        body = await response.json() if response.status == 200 else {}
                        answered += "7:30 in the morning" in str(body.get("reply", ""))
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    pass
                try:
                    while True:
                        await asyncio.wait_for(ws.receive(), 0.5)
                        events += 1
                except TimeoutError:
                    pass
    return answered, tried, events
