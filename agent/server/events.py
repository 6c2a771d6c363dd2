"""EventHub: fans session events out to every WebSocket watching that session, never blocking on one."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from agent.log import get_logger

log = get_logger(__name__)

_QUEUE_SIZE = 256


class Subscriber:
    """One WebSocket's outbox; a slow client loses its oldest events instead of stalling others."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
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
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = {}

    def subscribe(self, session_id: str, ws: web.WebSocketResponse) -> Subscriber:
        subscriber = Subscriber(ws)
        self._subscribers.setdefault(session_id, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, session_id: str, subscriber: Subscriber) -> None:
        watchers = self._subscribers.get(session_id)
        if watchers is not None:
            watchers.discard(subscriber)
            if not watchers:
                self._subscribers.pop(session_id, None)

    def watchers(self, session_id: str) -> int:
        return len(self._subscribers.get(session_id, ()))

    async def publish(self, session_id: str, event: dict[str, Any]) -> None:
        for subscriber in list(self._subscribers.get(session_id, ())):
            subscriber.offer(event)

    async def aclose(self) -> None:
        for watchers in list(self._subscribers.values()):
            for subscriber in list(watchers):
                with contextlib.suppress(Exception):
                    await subscriber.ws.close(code=1001, message=b"server shutting down")
        self._subscribers.clear()
