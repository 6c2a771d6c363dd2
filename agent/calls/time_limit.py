"""The maximum call length (AGENT_MAX_CALL_S) on every channel: past it, the caller hears why and the call ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from agent.calls.events import CallEvent, Tick
from agent.calls.io import CallIO
from agent.log import get_logger

log = get_logger(__name__)

TIME_LIMIT_REPLY = (
    "I'm sorry, we've reached the time limit for a single call, so I have to end it here. "
    "Please call again if there's anything else. Goodbye!"
)

EventHandler = Callable[[CallEvent], Awaitable[None]]


class CallTimeLimit:
    """Sits between the listener and the coordinator: events pass through until the call's media time reaches
    the limit (checked on each Tick, so a replay on virtual time ends the same way); from then on nothing
    more is answered and `on_time_up` (say why, hang up) runs once, as a task the listener does not wait on."""

    def __init__(
        self,
        io: CallIO,
        max_call_s: float | None,
        handler: EventHandler,
        on_time_up: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._io = io
        self._max_call_s = max_call_s
        self._handler = handler
        self._on_time_up = on_time_up
        self._ending: asyncio.Task[None] | None = None

    @property
    def reached(self) -> bool:
        return self._ending is not None

    async def handle(self, event: CallEvent) -> None:
        if self._ending is not None:
            return
        if isinstance(event, Tick) and self._max_call_s is not None and self._io.now() >= self._max_call_s:
            log.info("call_time_limit_reached", max_call_s=self._max_call_s)
            self._ending = asyncio.create_task(self._on_time_up(), name="call-time-limit")
            return
        await self._handler(event)

    async def aclose(self) -> None:
        """Let a goodbye in progress finish if the call is still up; cancel it when the call is over."""
        if self._ending is not None and not self._ending.done():
            self._ending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ending
