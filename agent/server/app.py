"""The aiohttp app factory: every long-lived resource opens and closes in a cleanup_ctx generator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

from aiohttp import web

from agent.config import Settings
from agent.log import get_logger
from agent.runtime import open_runtime
from agent.server import api, websocket
from agent.server.errors import request_context
from agent.server.events import EventHub
from agent.server.keys import (
    BRAIN,
    CONVERSATIONS,
    DATABASE,
    EVENTS,
    HUMANS,
    RATE_LIMITER,
    SETTINGS,
    STATE_STORE,
)
from agent.server.ratelimit import RateLimiter

log = get_logger(__name__)


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> web.Application:
    """The whole agent as one aiohttp application; `clock` lets tests pin "now"."""
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[request_context])
    app[SETTINGS] = settings
    app[RATE_LIMITER] = RateLimiter(rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst)

    async def events(app: web.Application) -> AsyncIterator[None]:
        app[EVENTS] = EventHub()
        yield
        await app[EVENTS].aclose()

    async def runtime(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(settings, events=app[EVENTS], clock=clock) as parts:
            app[DATABASE] = parts.database
            app[STATE_STORE] = parts.state_store
            app[HUMANS] = parts.humans
            app[BRAIN] = parts.dialog.brain
            app[CONVERSATIONS] = parts.dialog.conversations
            log.info("agent_ready", brain=parts.dialog.brain.name, state_store=parts.state_store.backend)
            yield

    app.cleanup_ctx.extend([events, runtime])
    app.add_routes(api.routes)
    app.add_routes(websocket.routes)
    return app
