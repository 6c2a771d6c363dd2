"""Callbacks dialled when they are due: rows of the callbacks table, claimed one by one, through an outbound line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agent import metrics
from agent.log import get_logger
from agent.store.callbacks import Callbacks
from agent.store.models import Callback

log = get_logger(__name__)

# Places one call to the callback's number; returns once it was answered, raises when it was not.
Dial = Callable[[Callback], Awaitable[object]]


@dataclass(frozen=True)
class DialPolicy:
    poll_s: float = 30.0  # how often the table is read
    retry_after_s: float = 900.0  # a call not answered is tried again this much later ...
    attempts: int = 3  # ... until this many tries, then it is cancelled
    dial_timeout_s: float = 120.0  # ringing included


class CallbackDialer:
    """One per process, owned by the app's cleanup_ctx. Processes sharing a database each run one: a callback
    is claimed in the database (scheduled -> done) before it is dialled, so it is dialled once."""

    def __init__(
        self,
        callbacks: Callbacks,
        dial: Dial,
        policy: DialPolicy = DialPolicy(),
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._callbacks = callbacks
        self._dial = dial
        self._policy = policy
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tries: dict[int, int] = {}  # callback id -> failed tries, in this process

    async def run(self) -> None:
        """Dial what is due, every `poll_s`, until cancelled."""
        while True:
            try:
                await self.dial_due()
            except Exception:  # the database away for a moment: the next round tries again
                metrics.error("callback_dialer")
                log.exception("callback_round_failed")
            await asyncio.sleep(self._policy.poll_s)

    async def dial_due(self) -> list[int]:
        """One round: every due callback this process could claim is dialled; returns the ids answered."""
        answered: list[int] = []
        for callback in await self._callbacks.due(self._clock()):
            if not await self._callbacks.claim(callback.id):
                continue  # another process has it
            if not callback.phone:
                log.warning("callback_without_number", callback_id=callback.id)
                await self._callbacks.cancel(callback.id)
                continue
            if await self._place(callback):
                answered.append(callback.id)
        return answered

    async def _place(self, callback: Callback) -> bool:
        try:
            await asyncio.wait_for(self._dial(callback), self._policy.dial_timeout_s)
        except asyncio.CancelledError:
            await self._callbacks.reschedule(callback.id, self._clock())  # shutdown: the next start dials it
            raise
        except Exception as exc:
            await self._failed(callback, exc)
            return False
        self._tries.pop(callback.id, None)
        log.info("callback_answered", callback_id=callback.id, reason=callback.reason)
        return True

    async def _failed(self, callback: Callback, exc: Exception) -> None:
        tries = self._tries.get(callback.id, 0) + 1
        self._tries[callback.id] = tries
        metrics.error("callback_dial")
        if tries >= self._policy.attempts:
            self._tries.pop(callback.id, None)
            await self._callbacks.cancel(callback.id)
            log.warning("callback_given_up", callback_id=callback.id, tries=tries, error=repr(exc))
            return
        again = self._clock() + timedelta(seconds=self._policy.retry_after_s)
        await self._callbacks.reschedule(callback.id, again)
        log.warning("callback_not_answered", callback_id=callback.id, tries=tries, error=repr(exc))
