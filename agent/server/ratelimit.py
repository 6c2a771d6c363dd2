"""Per-client limits: token buckets (least recently seen evicted first) in front of every route and WebSocket,
the count of WebSockets each client holds, and the wrong operator tokens each client may try."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from agent.config import ServerSettings
from agent.server.clients import client_key
from agent.server.errors import ApiError, Handler

# Static files, /health, /metrics and LiveKit's webhooks get this many times the API's rate and burst:
# a console page loads a dozen files at once, and health checks and webhooks come from one address.
LIGHT_FACTOR = 10
_API_PREFIXES = ("/api/", "/ws/")


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client key; at most `max_clients` buckets, the least recently seen dropped first
    (a client flooding now is never the one forgotten)."""

    def __init__(
        self,
        rate_per_s: float,
        burst: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate_per_s
        self._burst = float(burst)
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, client: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            while len(self._buckets) >= self._max_clients:
                self._buckets.popitem(last=False)
            bucket = self._buckets[client] = _Bucket(self._burst, now)
        else:
            self._buckets.move_to_end(client)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        return bucket

    def waiting(self, client: str) -> float:
        """Seconds until the client may go on (0: now), without spending anything."""
        bucket = self._bucket(client)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self._rate

    def take(self, client: str) -> float:
        """Spend one token: 0 when there was one, else the seconds until there will be (nothing spent)."""
        bucket = self._bucket(client)
        if bucket.tokens < 1:
            return (1 - bucket.tokens) / self._rate
        bucket.tokens -= 1
        return 0.0

    def allow(self, client: str) -> bool:
        return self.take(client) == 0.0


class ClientCounter:
    """How many of something (open WebSockets) each client holds now."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}

    def held(self, client: str) -> int:
        return self._held.get(client, 0)

    def acquire(self, client: str) -> None:
        self._held[client] = self._held.get(client, 0) + 1

    def release(self, client: str) -> None:
        left = self._held.get(client, 0) - 1
        if left > 0:
            self._held[client] = left
        else:
            self._held.pop(client, None)


@dataclass
class RateLimits:
    """Everything the server limits per client."""

    api: RateLimiter  # /api/ and /ws/
    light: RateLimiter  # everything else: the console's files, /health, /metrics, webhooks
    operator_failures: RateLimiter  # wrong or misplaced operator tokens
    websockets: ClientCounter

    @classmethod
    def from_settings(cls, server: ServerSettings) -> RateLimits:
        rate, burst, clients = server.rate_limit_per_s, server.rate_limit_burst, server.rate_limit_clients
        failures = server.operator_token_failures_per_min
        return cls(
            api=RateLimiter(rate, burst, clients),
            light=RateLimiter(rate * LIGHT_FACTOR, burst * LIGHT_FACTOR, clients),
            operator_failures=RateLimiter(failures / 60, failures, clients),
            websockets=ClientCounter(),
        )


RATE_LIMITS = web.AppKey("rate_limits", RateLimits)


def too_many(wait_s: float, message: str = "Too many requests; slow down and retry shortly.") -> ApiError:
    """429 with Retry-After: whole seconds, at least one."""
    return ApiError(429, "rate_limited", message, retry_after_s=max(1, math.ceil(wait_s)))


@web.middleware
async def limit_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request, WebSocket upgrades included, spends a token of its client's bucket, or gets 429."""
    limits = request.app.get(RATE_LIMITS)
    if limits is not None:
        limiter = limits.api if request.path.startswith(_API_PREFIXES) else limits.light
        wait_s = limiter.take(client_key(request))
        if wait_s:
            raise too_many(wait_s)
    return await handler(request)
