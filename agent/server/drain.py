"""Draining on SIGTERM: refuse new calls and sessions (503), let calls in progress finish, then exit."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Protocol

from aiohttp import web

from agent.log import get_logger
from agent.server.errors import REQUEST_ID, Handler, error_response
from agent.server.keys import CALL_RUNNER, EVENTS, SETTINGS, SIP_ENDPOINT

log = get_logger(__name__)

# What a client should wait before trying again (another process behind the balancer takes it sooner).
RETRY_AFTER_S = 10
# After the drain, requests still in flight get this long before aiohttp cancels them.
SHUTDOWN_GRACE_S = 3.0
# New work, refused while draining: new sessions, browser calls, caller tokens, LiveKit rooms, event streams.
_NEW_WORK = (
    ("POST", "/api/sessions"),
    ("POST", "/api/voice/webrtc"),
    ("POST", "/api/voice/token"),
    ("POST", "/livekit/webhook"),
    ("GET", "/ws/"),
)


class Drain:
    """Whether this process is draining, and since when (monotonic)."""

    def __init__(self) -> None:
        self.since: float | None = None

    @property
    def draining(self) -> bool:
        return self.since is not None

    def start(self) -> None:
        if self.since is None:
            self.since = time.monotonic()


# Set on SIGTERM: new calls and sessions are refused while the calls in progress finish.
DRAIN = web.AppKey("drain", Drain)


class RefusesNewCalls(Protocol):
    """A call entry (the SIP endpoint) that can stop taking calls while it finishes the ones it has."""

    @property
    def active_calls(self) -> int: ...

    def refuse_new_calls(self) -> None: ...


def _is_new_work(request: web.Request) -> bool:
    path = request.path
    for method, prefix in _NEW_WORK:
        if request.method == method and (
            path == prefix or (prefix.endswith("/") and path.startswith(prefix))
        ):
            return True
    return False


@web.middleware
async def refuse_while_draining(request: web.Request, handler: Handler) -> web.StreamResponse:
    """503 with Retry-After for new work (and for /health, so a balancer stops sending any) while draining;
    sessions and calls already under way are served to their end."""
    drain = request.app.get(DRAIN)
    if drain is None or not drain.draining or not (_is_new_work(request) or request.path == "/health"):
        return await handler(request)
    response = error_response(
        503,
        "draining",
        "This agent is shutting down; please try again in a moment.",
        request.get(REQUEST_ID, ""),
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _calls_in_progress(app: web.Application) -> int:
    runner = app.get(CALL_RUNNER)
    sip: RefusesNewCalls | None = app.get(SIP_ENDPOINT)  # type: ignore[assignment]
    ringing = sip.active_calls if sip is not None else 0
    return max(ringing, len(runner.active()) if runner is not None else 0)


async def drain(app: web.Application, timeout_s: float) -> int:
    """Stop taking calls and sessions, wait up to `timeout_s` for the calls in progress to end, then close
    the event streams. Returns how many calls were still going at the timeout (they end as the app closes:
    their rows say ended_by "shutdown")."""
    app[DRAIN].start()
    sip: RefusesNewCalls | None = app.get(SIP_ENDPOINT)  # type: ignore[assignment]
    if sip is not None:
        sip.refuse_new_calls()
    waiting = _calls_in_progress(app)
    log.info("drain_started", calls_in_progress=waiting, timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s
    while waiting and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        waiting = _calls_in_progress(app)
    await app[EVENTS].aclose()  # WebSockets get 1001 (going away) now, not after aiohttp's grace period
    log.info("drain_finished", calls_cut_off=waiting)
    return waiting


async def serve(app: web.Application, host: str, port: int) -> None:
    """Run the app until SIGTERM or SIGINT, then drain and close. A second signal cuts the drain short."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        stop = asyncio.Event()
        draining: list[asyncio.Task[int]] = []

        def on_signal() -> None:
            if stop.is_set():
                for task in draining:
                    task.cancel()
            stop.set()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal)
        log.info("serving", host=host, port=port)
        await stop.wait()
        draining.append(asyncio.create_task(drain(app, app[SETTINGS].server.drain_timeout_s)))
        try:
            await draining[0]
        except asyncio.CancelledError:
            if not draining[0].cancelled():
                raise
            log.warning("drain_cut_short")
    finally:
        await runner.cleanup()
