"""HumanAvailability: the background check for a free human; its result lands as a notification."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from agent.config import EscalationSettings
from agent.dialog.speech_format import say_when
from agent.dialog.state import BackgroundTask, CustomerContext, Notification, utc_now
from agent.log import bind_ids, get_logger
from agent.store.callbacks import Callbacks
from agent.store.catalog import Catalog
from agent.store.state_store import StateStore

log = get_logger(__name__)


class EventSink(Protocol):
    async def publish(self, session_id: str, event: dict[str, Any]) -> None: ...


class HumanAvailability:
    """Owns one asyncio task per escalation; cancelled when its session ends or the process stops."""

    def __init__(
        self,
        settings: EscalationSettings,
        *,
        store: StateStore,
        callbacks: Callbacks,
        catalog: Catalog,
        events: EventSink,
        tz: ZoneInfo,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._callbacks = callbacks
        self._catalog = catalog
        self._events = events
        self._tz = tz
        self._clock = clock or (lambda: datetime.now(tz))  # a pinned clock in tests and QA replays
        self._min_s, self._max_s = settings.escalation_min_s, settings.escalation_max_s
        self._probability = settings.human_available_probability
        self._humans = settings.human_agents or ("a team member",)
        self._rng = random.Random(settings.escalation_seed)
        self._tasks: dict[str, dict[str, asyncio.Task[None]]] = {}
        self._closed = False

    def running(self, session_id: str | None = None) -> int:
        if session_id is not None:
            return len(self._tasks.get(session_id, {}))
        return sum(len(t) for t in self._tasks.values())

    async def request_human(self, session_id: str, reason: str, customer: CustomerContext) -> BackgroundTask:
        if self._closed:
            raise RuntimeError("the agent is shutting down")
        task = BackgroundTask(task_id=f"esc_{session_id}_{secrets.token_hex(4)}", status="pending")
        await self._save(session_id, task)
        delay = self._rng.uniform(self._min_s, self._max_s)
        available = self._rng.random() < self._probability
        human = self._rng.choice(self._humans)
        worker = asyncio.create_task(
            self._check(session_id, task, reason, customer, delay, available, human), name=task.task_id
        )
        self._tasks.setdefault(session_id, {})[task.task_id] = worker
        worker.add_done_callback(lambda _: self._forget(session_id, task.task_id))
        return task

    def _forget(self, session_id: str, task_id: str) -> None:
        owned = self._tasks.get(session_id)
        if owned is not None:
            owned.pop(task_id, None)
            if not owned:
                self._tasks.pop(session_id, None)

    async def _save(self, session_id: str, task: BackgroundTask) -> None:
        await self._store.put_task(session_id, task.model_dump(mode="json"))
        await self._events.publish(
            session_id,
            {"type": "task_update", "session_id": session_id, "task": task.model_dump(mode="json")},
        )

    async def _check(
        self,
        session_id: str,
        task: BackgroundTask,
        reason: str,
        customer: CustomerContext,
        delay: float,
        available: bool,
        human: str,
    ) -> None:
        bind_ids(session_id=session_id, task_id=task.task_id)
        running = task.model_copy(update={"status": "running"})
        try:
            await self._save(session_id, running)
            await asyncio.sleep(delay)
            if available:
                done, note = self._human_is_free(running, human)
            else:
                done, note = await self._callback_booked(session_id, running, reason, customer)
            await self._save(session_id, done)
            await self._store.push_notification(session_id, note.model_dump(mode="json"))
            await self._events.publish(
                session_id, {"type": "notification", "session_id": session_id, **note.model_dump(mode="json")}
            )
            log.info("escalation_finished", human_available=available, delay_s=round(delay, 2))
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # the store may already be closed at shutdown
                await asyncio.shield(
                    self._save(session_id, running.model_copy(update={"status": "cancelled"}))
                )
            raise
        except Exception:
            log.exception("escalation_failed")
            await self._save(session_id, running.model_copy(update={"status": "failed"}))

    def _human_is_free(self, running: BackgroundTask, human: str) -> tuple[BackgroundTask, Notification]:
        done = running.model_copy(
            update={
                "status": "completed",
                "human_available": True,
                "human_agent_name": human,
                "finished_at": utc_now(),
            }
        )
        note = Notification(
            notification_id=f"notif_{secrets.token_hex(6)}",
            task_id=running.task_id,
            message=f"Good news: {human} is available now and can take your call. I'm connecting you.",
            priority="interrupt",
            human_available=True,
            human_agent_name=human,
        )
        return done, note

    async def _callback_booked(
        self, session_id: str, running: BackgroundTask, reason: str, customer: CustomerContext
    ) -> tuple[BackgroundTask, Notification]:
        due = await self._callback_time()
        await self._callbacks.schedule(
            session_id=session_id, phone=customer.phone, name=customer.name, reason=reason, due_at=due
        )
        done = running.model_copy(
            update={
                "status": "completed",
                "human_available": False,
                "callback_at": due,
                "finished_at": utc_now(),
            }
        )
        note = Notification(
            notification_id=f"notif_{secrets.token_hex(6)}",
            task_id=running.task_id,
            message=(
                "I'm sorry, everyone on our team is busy right now. I've scheduled a call back for you "
                f"{say_when(due, self._clock().date())}."
            ),
            priority="high",
            human_available=False,
        )
        return done, note

    async def _callback_time(self) -> datetime:
        """Half an hour from now on a quarter hour, moved to the next opening of the sales floor when closed."""
        now = self._clock()
        due = (now + timedelta(minutes=30)).replace(second=0, microsecond=0)
        due += timedelta(minutes=(-due.minute) % 15)
        hours = {h.weekday: h for h in await self._catalog.opening_hours("sales")}
        closed_days = {h.day for h in await self._catalog.holidays()}
        for _ in range(15):
            today = hours.get(due.weekday())
            if today is not None and due.date() not in closed_days:
                opens = datetime.combine(due.date(), today.opens, self._tz)
                last_call = datetime.combine(due.date(), today.closes, self._tz) - timedelta(minutes=30)
                if due <= last_call:
                    return max(due, opens)
            due = datetime.combine(due.date() + timedelta(days=1), time(0, 0), self._tz)
        return now + timedelta(hours=1)

    async def schedule_callback(self, session_id: str, reason: str, customer: CustomerContext) -> datetime:
        """A human was found but the call could not reach them (a failed transfer): book a call back."""
        due = await self._callback_time()
        await self._callbacks.schedule(
            session_id=session_id, phone=customer.phone, name=customer.name, reason=reason, due_at=due
        )
        log.info("callback_scheduled", reason=reason, due=due.isoformat())
        return due

    async def cancel_session(self, session_id: str) -> int:
        owned = list(self._tasks.get(session_id, {}).values())
        for worker in owned:
            worker.cancel()
        await asyncio.gather(*owned, return_exceptions=True)
        return len(owned)

    async def aclose(self) -> None:
        """Cancel every running check; safe to call twice."""
        self._closed = True
        owned = [w for tasks in self._tasks.values() for w in tasks.values()]
        for worker in owned:
            worker.cancel()
        await asyncio.gather(*owned, return_exceptions=True)
        self._tasks.clear()
