"""This process's own copy of the sessions it keeps in Redis: what serves and takes writes while Redis is away."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]
MAX_MIRRORED_SESSIONS = 10_000  # the oldest are forgotten first (they are in Redis, or long expired)


@dataclass
class Outage:
    """What happened while Redis could not be reached, to be written back once it answers again."""

    written: set[str] = field(default_factory=set)  # sessions whose state changed
    deleted: set[str] = field(default_factory=set)
    notifications: dict[str, list[str]] = field(default_factory=dict)
    tasks: dict[str, dict[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.written or self.deleted or self.notifications or self.tasks)

    def merge(self, earlier: Outage) -> None:
        """Take back a backlog that could not be written (Redis went away again while it was)."""
        self.written |= earlier.written - self.deleted
        self.deleted |= earlier.deleted - self.written
        for session_id, notes in earlier.notifications.items():
            self.notifications[session_id] = [*notes, *self.notifications.get(session_id, [])]
        for session_id, tasks in earlier.tasks.items():
            self.tasks[session_id] = {**tasks, **self.tasks.get(session_id, {})}


class SessionMirror:
    """Session states (as JSON text, with their expiry) and task boards this process wrote or read, newest
    last; plus the outage backlog. Plain memory: it never waits on anything."""

    def __init__(self, ttl_s: int, max_sessions: int = MAX_MIRRORED_SESSIONS) -> None:
        self._ttl_s = ttl_s
        self._max = max_sessions
        self._states: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._tasks: dict[str, dict[str, str]] = {}
        self.outage = Outage()

    def keep(self, session_id: str, raw: str) -> None:
        """Remember a state just written to (or read from) Redis, or written while it was away."""
        self._states[session_id] = (time.monotonic() + self._ttl_s, raw)
        self._states.move_to_end(session_id)
        while len(self._states) > self._max:
            forgotten, _ = self._states.popitem(last=False)
            self._tasks.pop(forgotten, None)

    def state(self, session_id: str) -> str | None:
        entry = self._states.get(session_id)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self.forget(session_id)
            return None
        return entry[1]

    def knows(self, session_id: str) -> bool:
        return self.state(session_id) is not None

    def forget(self, session_id: str) -> None:
        self._states.pop(session_id, None)
        self._tasks.pop(session_id, None)

    def keep_task(self, session_id: str, task_id: str, raw: str) -> None:
        self._tasks.setdefault(session_id, {})[task_id] = raw

    def tasks(self, session_id: str) -> dict[str, str]:
        return dict(self._tasks.get(session_id, {}))

    def live_sessions(self) -> list[tuple[str, str, int]]:
        """(session id, state JSON, seconds left) for every session not expired: what to put back into a
        Redis that lost its data (restarted without persistence)."""
        now = time.monotonic()
        return [
            (sid, raw, int(deadline - now)) for sid, (deadline, raw) in self._states.items() if deadline > now
        ]

    # While Redis is away ----------------------------------------------------------------------------------
    def write_during_outage(self, session_id: str, raw: str) -> None:
        self.keep(session_id, raw)
        self.outage.written.add(session_id)
        self.outage.deleted.discard(session_id)

    def delete_during_outage(self, session_id: str) -> None:
        self.forget(session_id)
        self.outage.written.discard(session_id)
        self.outage.notifications.pop(session_id, None)
        self.outage.tasks.pop(session_id, None)
        self.outage.deleted.add(session_id)

    def notify_during_outage(self, session_id: str, notification: JsonDict) -> None:
        self.outage.notifications.setdefault(session_id, []).append(json.dumps(notification))

    def take_outage_notifications(self, session_id: str) -> list[JsonDict]:
        return [json.loads(item) for item in self.outage.notifications.pop(session_id, [])]

    def task_during_outage(self, session_id: str, task_id: str, raw: str) -> None:
        self.keep_task(session_id, task_id, raw)
        self.outage.tasks.setdefault(session_id, {})[task_id] = raw

    def end_outage(self) -> Outage:
        """The backlog, handed over once (the store writes it back to Redis)."""
        backlog, self.outage = self.outage, Outage()
        return backlog
