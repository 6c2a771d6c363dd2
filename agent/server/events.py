"""EventHub: fans session events out to every WebSocket watching that session, never blocking on one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from agent.log import get_logger
from agent.server.public_view import public_event

log = get_logger(__name__)

_QUEUE_SIZE = 256
CLOSE_WAIT_S = 2.0  # on shutdown, how long the close handshakes of all WebSockets together may take
# Subscribe with this id to receive what is published on every channel (the operator view).
ALL_SESSIONS = "*"
# The channel the call runner announces calls on (call_started, call_ended); not a session id.
OPERATORS = "operators"

# For an all-sessions subscriber: which (channel, event) pairs it wants; decided at publish time, so an
# uninterested event never enters its queue.
EventFilter = Callable[[str, dict[str, Any]], bool]


class Subscriber:
    """One WebSocket's outbox; a slow client loses its oldest events instead of stalling others."""

    def __init__(self, ws: web.WebSocketResponse, accepts: EventFilter | None = None) -> None:
        self.ws = ws
        self.accepts = accepts
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self.dropped = 0

    def offer(self, event: dict[str, Any]) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.dropped += 1
        self.queue.put_nowait(event)

    async def pump(self) -> None:
        """Send queued events until the socket closes."""
        while not self.ws.closed:
            event = await self.queue.get()
            try:
                await self.ws.send_json(event)
            except (ConnectionResetError, RuntimeError):
                return


class EventHub:
    """Subscribers per channel (a session id, or "operators"), plus subscribers to every channel."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._everything: set[Subscriber] = set()

    def subscribe(
        self, session_id: str, ws: web.WebSocketResponse, *, accepts: EventFilter | None = None
    ) -> Subscriber:
        """Watch one channel; `session_id="*"` watches all of them (optionally only what `accepts` takes)."""
        subscriber = Subscriber(ws, accepts)
        if session_id == ALL_SESSIONS:
            self._everything.add(subscriber)
        else:
            self._subscribers.setdefault(session_id, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, session_id: str, subscriber: Subscriber) -> None:
        if session_id == ALL_SESSIONS:
            self._everything.discard(subscriber)
            return
        watchers = self._subscribers.get(session_id)
        if watchers is not None:
            watchers.discard(subscriber)
            if not watchers:
                self._subscribers.pop(session_id, None)

    def watchers(self, session_id: str) -> int:
        if session_id == ALL_SESSIONS:
            return len(self._everything)
        return len(self._subscribers.get(session_id, ()))

    async def publish(self, session_id: str, event: dict[str, Any]) -> None:
        """Queue `event` for the channel's watchers and the all-channel watchers; never waits on a socket.
        A session's own watchers (the customer page) see its public view; operators see it whole."""
        watchers = list(self._subscribers.get(session_id, ()))
        shown = public_event(event) if watchers else event
        for subscriber in watchers:
            subscriber.offer(shown)
        for subscriber in list(self._everything):
            try:
                wanted = subscriber.accepts is None or subscriber.accepts(session_id, event)
            except Exception:  # a faulty filter loses its own events, never the publisher's turn
                log.exception("event_filter_failed", channel=session_id)
                continue
            if wanted:
                subscriber.offer(event)

    async def aclose(self) -> None:
        """Close every WebSocket with 1001 (going away), all at once; a client that never answers the close
        is not waited for past CLOSE_WAIT_S (it cannot hold the process's exit)."""
        everyone = [*self._everything, *(s for watchers in self._subscribers.values() for s in watchers)]
        self._subscribers.clear()
        self._everything.clear()
        closing = [asyncio.ensure_future(_close(subscriber.ws)) for subscriber in everyone]
        if closing:
            await asyncio.wait(closing, timeout=CLOSE_WAIT_S)


async def _close(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code=1001, message=b"server shutting down")
