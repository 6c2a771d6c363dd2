"""Conversation state stores: in-memory (default) and Redis (`session:{id}` with a TTL), same interface."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from typing import Any

import redis.asyncio as aioredis

JsonDict = dict[str, Any]


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
    """A dict with expiry times; fine for one process, loses everything on restart."""

    def __init__(self, ttl_s: int) -> None:
        super().__init__(ttl_s)
        self._states: dict[str, tuple[float, str]] = {}
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
        loaded: JsonDict = json.loads(entry[1])
        return loaded

    async def set(self, session_id: str, state: JsonDict) -> None:
        self._expire()
        self._states[session_id] = (time.monotonic() + self.ttl_s, json.dumps(state))

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


class RedisStateStore(StateStore):
    """Redis 7: `session:{id}` (JSON string), `session:{id}:inbox` (list), `session:{id}:tasks` (hash)."""

    def __init__(self, url: str, ttl_s: int) -> None:
        super().__init__(ttl_s)
        self._redis: aioredis.Redis = aioredis.from_url(url, decode_responses=True, socket_timeout=5)
        self._closed = False

    @property
    def backend(self) -> str:
        return "redis"

    @staticmethod
    def _key(session_id: str, suffix: str = "") -> str:
        return f"session:{session_id}{suffix}"

    async def get(self, session_id: str) -> JsonDict | None:
        raw = await self._redis.get(self._key(session_id))
        if raw is None:
            return None
        loaded: JsonDict = json.loads(raw)
        return loaded

    async def set(self, session_id: str, state: JsonDict) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(session_id), json.dumps(state), ex=self.ttl_s)
            # Keep the side keys alive as long as the session itself.
            pipe.expire(self._key(session_id, ":inbox"), self.ttl_s)
            pipe.expire(self._key(session_id, ":tasks"), self.ttl_s)
            await pipe.execute()

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(
            self._key(session_id), self._key(session_id, ":inbox"), self._key(session_id, ":tasks")
        )

    async def push_notification(self, session_id: str, notification: JsonDict) -> None:
        key = self._key(session_id, ":inbox")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(notification))
            pipe.expire(key, self.ttl_s)
            await pipe.execute()

    async def drain_notifications(self, session_id: str) -> list[JsonDict]:
        key = self._key(session_id, ":inbox")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            items, _ = await pipe.execute()
        return [json.loads(item) for item in items]

    async def put_task(self, session_id: str, task: JsonDict) -> None:
        key = self._key(session_id, ":tasks")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, str(task["task_id"]), json.dumps(task))
            pipe.expire(key, self.ttl_s)
            await pipe.execute()

    async def list_tasks(self, session_id: str) -> list[JsonDict]:
        raw = await self._redis.hgetall(self._key(session_id, ":tasks"))
        return sorted((json.loads(v) for v in raw.values()), key=lambda t: str(t.get("created_at", "")))

    async def healthy(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (aioredis.RedisError, OSError):
            return False

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._redis.aclose()


def open_state_store(backend: str, *, redis_url: str, ttl_s: int) -> StateStore:
    """The store the settings ask for."""
    if backend == "redis":
        return RedisStateStore(redis_url, ttl_s)
    return MemoryStateStore(ttl_s)
