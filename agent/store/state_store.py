"""Conversation state stores: in-memory (default) and Redis (`session:{id}` with a TTL), same interface."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from agent.log import get_logger
from agent.store.state_mirror import Outage, SessionMirror

log = get_logger(__name__)
JsonDict = dict[str, Any]
RETRY_REDIS_EVERY_S = 1.0  # while Redis is away, how often a store call tries it again
_REDIS_ERRORS = (aioredis.RedisError, OSError)


class StateStore(ABC):
    """Session state as JSON documents, plus a per-session inbox of notifications and a task board."""

    def __init__(self, ttl_s: int) -> None:
        self.ttl_s = ttl_s

    @abstractmethod
    async def get(self, session_id: str) -> JsonDict | None: ...

    @abstractmethod
    async def set(self, session_id: str, state: JsonDict) -> None: ...

    @abstractmethod
    async def delete(self, session_id: str) -> None: ...

    @abstractmethod
    async def push_notification(self, session_id: str, notification: JsonDict) -> None: ...

    @abstractmethod
    async def drain_notifications(self, session_id: str) -> list[JsonDict]:
        """Remove and return every queued notification, oldest first (atomically)."""

    @abstractmethod
    async def put_task(self, session_id: str, task: JsonDict) -> None: ...

    @abstractmethod
    async def list_tasks(self, session_id: str) -> list[JsonDict]: ...

    @abstractmethod
    async def healthy(self) -> bool: ...

    @abstractmethod
    async def aclose(self) -> None: ...

    @property
    @abstractmethod
    def backend(self) -> str: ...


class MemoryStateStore(StateStore):
    """A dict with expiry times; fine for one process, loses everything on restart. At most `max_sessions`
    (AGENT_MAX_SESSIONS): past that, the session used least recently is forgotten, so a flood of new
    sessions cannot grow the process without end."""

    def __init__(self, ttl_s: int, max_sessions: int = 10_000) -> None:
        super().__init__(ttl_s)
        self._max_sessions = max_sessions
        self._states: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._inbox: dict[str, list[str]] = {}
        self._tasks: dict[str, dict[str, str]] = {}

    @property
    def backend(self) -> str:
        return "memory"

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [sid for sid, (deadline, _) in self._states.items() if deadline < now]:
            self._states.pop(sid, None)
            self._inbox.pop(sid, None)
            self._tasks.pop(sid, None)

    async def get(self, session_id: str) -> JsonDict | None:
        self._expire()
        entry = self._states.get(session_id)
        if entry is None:
            return None
        self._states.move_to_end(session_id)
        loaded: JsonDict = json.loads(entry[1])
        return loaded

    async def set(self, session_id: str, state: JsonDict) -> None:
        self._expire()
        self._states[session_id] = (time.monotonic() + self.ttl_s, json.dumps(state))
        self._states.move_to_end(session_id)
        while len(self._states) > self._max_sessions:
            forgotten, _ = self._states.popitem(last=False)
            await self.delete(forgotten)
            log.warning("session_forgotten_store_full", forgotten=forgotten, max_sessions=self._max_sessions)

    async def delete(self, session_id: str) -> None:
        self._states.pop(session_id, None)
        self._inbox.pop(session_id, None)
        self._tasks.pop(session_id, None)

    async def push_notification(self, session_id: str, notification: JsonDict) -> None:
        self._inbox.setdefault(session_id, []).append(json.dumps(notification))

    async def drain_notifications(self, session_id: str) -> list[JsonDict]:
        return [json.loads(item) for item in self._inbox.pop(session_id, [])]

    async def put_task(self, session_id: str, task: JsonDict) -> None:
        self._tasks.setdefault(session_id, {})[str(task["task_id"])] = json.dumps(task)

    async def list_tasks(self, session_id: str) -> list[JsonDict]:
        return [json.loads(t) for t in self._tasks.get(session_id, {}).values()]

    async def healthy(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._states.clear()
        self._inbox.clear()
        self._tasks.clear()


class StateStoreUnavailable(RuntimeError):
    """Redis cannot be reached and this process has no copy of the session asked for (try again shortly)."""


class RedisStateStore(StateStore):
    """Redis 7: `session:{id}` (JSON string), `session:{id}:inbox` (list), `session:{id}:tasks` (hash).

    Degrades instead of failing: while Redis cannot be reached, this process's own copy of its sessions
    (`SessionMirror`) serves reads and takes writes, and Redis is tried again every second; once it answers,
    what changed meanwhile is written back, and if it came back empty (restarted without persistence) the
    sessions this process holds are put back too. A session only Redis knew of is `StateStoreUnavailable`
    meanwhile. With several processes, the last writer of a session wins.
    """

    def __init__(self, url: str, ttl_s: int) -> None:
        super().__init__(ttl_s)
        self._redis: aioredis.Redis = aioredis.from_url(
            url,
            decode_responses=True,
            socket_timeout=2,
            socket_connect_timeout=1,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), 2),  # a down Redis costs a turn ~0.1 s, once
        )
        self._mirror = SessionMirror(ttl_s)
        # This process's mark in Redis: gone after a restart that lost the data (then the mirror goes back).
        self._marker = f"state:process:{secrets.token_hex(8)}"
        self._down_since: float | None = None
        self._last_try = 0.0
        self._recovery: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def backend(self) -> str:
        return "redis"

    @property
    def degraded(self) -> bool:
        """Redis is away: sessions are served from this process's copy."""
        return self._down_since is not None

    async def get(self, session_id: str) -> JsonDict | None:
        if await self._reachable():
            try:
                raw = _text(await self._redis.get(_session_key(session_id)))
                if raw is None and self._mirror.knows(session_id) and await self._restore_if_lost():
                    raw = self._mirror.state(session_id)
            except _REDIS_ERRORS as exc:
                self._went_down(exc)
            else:
                if raw is None:  # ended or expired (perhaps by another process)
                    self._mirror.forget(session_id)
                    return None
                self._mirror.keep(session_id, raw)
                return _loads(raw)
        raw = self._mirror.state(session_id)
        if raw is None:
            raise StateStoreUnavailable(f"the state store is unreachable and {session_id} is not held here")
        return _loads(raw)

    async def set(self, session_id: str, state: JsonDict) -> None:
        raw = json.dumps(state)
        if await self._reachable():
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.set(_session_key(session_id), raw, ex=self.ttl_s)
                    # Keep the side keys alive as long as the session itself.
                    pipe.expire(_session_key(session_id, ":inbox"), self.ttl_s)
                    pipe.expire(_session_key(session_id, ":tasks"), self.ttl_s)
                    pipe.set(self._marker, "1", ex=self.ttl_s)
                    await pipe.execute()
                self._mirror.keep(session_id, raw)
                return
            except _REDIS_ERRORS as exc:
                self._went_down(exc)
        self._mirror.write_during_outage(session_id, raw)

    async def delete(self, session_id: str) -> None:
        if await self._reachable():
            try:
                await self._redis.delete(
                    _session_key(session_id),
                    _session_key(session_id, ":inbox"),
                    _session_key(session_id, ":tasks"),
                )
                self._mirror.forget(session_id)
                return
            except _REDIS_ERRORS as exc:
                self._went_down(exc)
        self._mirror.delete_during_outage(session_id)

    async def push_notification(self, session_id: str, notification: JsonDict) -> None:
        if await self._reachable():
            key = _session_key(session_id, ":inbox")
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.rpush(key, json.dumps(notification))
                    pipe.expire(key, self.ttl_s)
                    await pipe.execute()
                return
            except _REDIS_ERRORS as exc:
                self._went_down(exc)
        self._mirror.notify_during_outage(session_id, notification)

    async def drain_notifications(self, session_id: str) -> list[JsonDict]:
        if await self._reachable():
            key = _session_key(session_id, ":inbox")
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.lrange(key, 0, -1)
                    pipe.delete(key)
                    items, _ = await pipe.execute()
                return [json.loads(item) for item in items]
            except _REDIS_ERRORS as exc:
                self._went_down(exc)
        return self._mirror.take_outage_notifications(session_id)

    async def put_task(self, session_id: str, task: JsonDict) -> None:
        task_id, raw = str(task["task_id"]), json.dumps(task)
        if await self._reachable():
            key = _session_key(session_id, ":tasks")
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.hset(key, task_id, raw)
                    pipe.expire(key, self.ttl_s)
                    await pipe.execute()
                self._mirror.keep_task(session_id, task_id, raw)
                return
            except _REDIS_ERRORS as exc:
                self._went_down(exc)
        self._mirror.task_during_outage(session_id, task_id, raw)

    async def list_tasks(self, session_id: str) -> list[JsonDict]:
        raw: dict[str, str] | None = None
        if await self._reachable():
            try:
                found = await self._redis.hgetall(_session_key(session_id, ":tasks"))
                raw = {str(_text(k)): str(_text(v)) for k, v in found.items()}
            except _REDIS_ERRORS as exc:
                self._went_down(exc)
        if raw is None:
            raw = self._mirror.tasks(session_id)
        return sorted((json.loads(v) for v in raw.values()), key=lambda t: str(t.get("created_at", "")))

    async def healthy(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except _REDIS_ERRORS:
            return False

    # Outages ----------------------------------------------------------------------------------------------
    def _went_down(self, exc: BaseException) -> None:
        self._last_try = time.monotonic()
        if self._down_since is None:
            self._down_since = self._last_try
            log.warning("state_store_degraded", error=str(exc) or type(exc).__name__)
        if self._recovery is None or self._recovery.done():  # write back even if no call needs Redis
            self._recovery = asyncio.create_task(self._recover(), name="state-store-recovery")

    async def _recover(self) -> None:
        while self._down_since is not None and not self._closed:
            await asyncio.sleep(RETRY_REDIS_EVERY_S)
            await self._reachable()

    async def _reachable(self) -> bool:
        """False while Redis is known to be away (tried again once a second); on its return, the outage's
        changes are written back before anything else."""
        if self._down_since is None:
            return True
        if time.monotonic() - self._last_try < RETRY_REDIS_EVERY_S:
            return False
        self._last_try = time.monotonic()
        backlog = self._mirror.end_outage()
        try:
            await _write_back(self._redis, self._mirror, backlog, self.ttl_s)
            restored = await self._restore_if_lost()
        except _REDIS_ERRORS:
            self._mirror.outage.merge(backlog)
            return False
        log.info(
            "state_store_recovered",
            down_s=round(time.monotonic() - self._down_since, 1),
            written_back=len(backlog.written),
            restored=restored,
        )
        self._down_since = None
        return True

    async def _restore_if_lost(self) -> int:
        """When this process's mark is gone, Redis lost its data (a restart without persistence): put back
        every live session this process holds, never over a newer one. Returns how many went back."""
        if await self._redis.exists(self._marker):
            return 0
        sessions = self._mirror.live_sessions()
        async with self._redis.pipeline(transaction=True) as pipe:
            for session_id, raw, seconds_left in sessions:
                pipe.set(_session_key(session_id), raw, ex=max(1, seconds_left), nx=True)
                if tasks := self._mirror.tasks(session_id):
                    pipe.hset(_session_key(session_id, ":tasks"), mapping=_fields(tasks))
                    pipe.expire(_session_key(session_id, ":tasks"), max(1, seconds_left))
            pipe.set(self._marker, "1", ex=self.ttl_s)
            await pipe.execute()
        if sessions:
            log.warning("state_store_sessions_restored", sessions=len(sessions))
        return len(sessions)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        await self._redis.aclose()


async def _write_back(redis: aioredis.Redis, mirror: SessionMirror, backlog: Outage, ttl_s: int) -> None:
    """What changed while Redis was away, in one transaction (all of it, or none: tried again later)."""
    async with redis.pipeline(transaction=True) as pipe:
        for session_id in backlog.written:
            if (raw := mirror.state(session_id)) is not None:
                pipe.set(_session_key(session_id), raw, ex=ttl_s)
        for session_id in backlog.deleted:
            pipe.delete(
                _session_key(session_id),
                _session_key(session_id, ":inbox"),
                _session_key(session_id, ":tasks"),
            )
        for session_id, notes in backlog.notifications.items():
            pipe.rpush(_session_key(session_id, ":inbox"), *notes)
            pipe.expire(_session_key(session_id, ":inbox"), ttl_s)
        for session_id, tasks in backlog.tasks.items():
            pipe.hset(_session_key(session_id, ":tasks"), mapping=_fields(tasks))
            pipe.expire(_session_key(session_id, ":tasks"), ttl_s)
        await pipe.execute()


def _session_key(session_id: str, suffix: str = "") -> str:
    return f"session:{session_id}{suffix}"


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _fields(values: dict[str, str]) -> Mapping[Any, Any]:
    return cast("Mapping[Any, Any]", values)  # redis-py's stubs want a Mapping keyed on a wider union


def _loads(raw: str) -> JsonDict:
    loaded: JsonDict = json.loads(raw)
    return loaded


def open_state_store(backend: str, *, redis_url: str, ttl_s: int, max_sessions: int = 10_000) -> StateStore:
    """The store the settings ask for (`max_sessions` caps the memory store; Redis has its own maxmemory)."""
    if backend == "redis":
        return RedisStateStore(redis_url, ttl_s)
    return MemoryStateStore(ttl_s, max_sessions)
