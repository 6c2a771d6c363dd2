"""Which process runs a room's call: a claim per room, in Redis (SET NX with a TTL) when processes share it."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

from agent.log import get_logger

log = get_logger(__name__)

KEY_PREFIX = "livekit:room-claim:"
# Renew only our own claim: another process's claim (after ours expired) is never extended.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class RoomClaims(ABC):
    """First come, first served per room, for `ttl_s` after the last renewal.

    A claim is never released early: it runs out `ttl_s` after the call ends, so a webhook LiveKit retries
    late (to this process or another) finds the room still taken and starts nothing.
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.owner = uuid.uuid4().hex  # this process

    @abstractmethod
    async def claim(self, room: str) -> bool:
        """Take the room; False when another claim holds it."""

    @abstractmethod
    async def renew(self, room: str) -> bool:
        """Extend our claim by `ttl_s`; False when it is no longer ours."""

    async def aclose(self) -> None:
        return None

    @contextlib.asynccontextmanager
    async def held(self, room: str) -> AsyncIterator[None]:
        """Keep renewing the claim on `room` while the block runs (a call longer than the TTL stays ours)."""

        async def keep() -> None:
            while True:
                await asyncio.sleep(self.ttl_s / 3)
                try:
                    if not await self.renew(room):
                        log.warning("livekit_room_claim_lost", call_id=room)
                except Exception as exc:  # Redis away for a moment: the next renewal tries again
                    log.warning("livekit_room_claim_not_renewed", call_id=room, error=repr(exc))

        keeper = asyncio.create_task(keep(), name=f"room-claim-{room}")
        try:
            yield
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)


class LocalRoomClaims(RoomClaims):
    """One process alone (the memory state backend): claims in a dict."""

    def __init__(self, ttl_s: float) -> None:
        super().__init__(ttl_s)
        self._until: dict[str, float] = {}

    async def claim(self, room: str) -> bool:
        now = time.monotonic()
        self._until = {name: until for name, until in self._until.items() if until > now}
        if room in self._until:
            return False
        self._until[room] = now + self.ttl_s
        return True

    async def renew(self, room: str) -> bool:
        if room not in self._until:
            return False
        self._until[room] = time.monotonic() + self.ttl_s
        return True


class RedisRoomClaims(RoomClaims):
    """Processes sharing one Redis: `SET livekit:room-claim:<room> <owner> NX EX <ttl>`."""

    def __init__(self, redis_url: str, ttl_s: float) -> None:
        super().__init__(ttl_s)
        self._redis = aioredis.Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)

    async def claim(self, room: str) -> bool:
        taken = await self._redis.set(KEY_PREFIX + room, self.owner, nx=True, ex=max(1, round(self.ttl_s)))
        return bool(taken)

    async def renew(self, room: str) -> bool:
        ttl = max(1, round(self.ttl_s))
        renewed = await self._redis.eval(_RENEW, 1, KEY_PREFIX + room, self.owner, ttl)
        return bool(renewed)

    async def aclose(self) -> None:
        await self._redis.aclose()
