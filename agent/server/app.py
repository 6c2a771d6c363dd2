"""The aiohttp app factory: every long-lived resource opens and closes in a cleanup_ctx generator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from agent.config import Settings
from agent.dialog.assembly import assemble_dialog
from agent.log import get_logger
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
from agent.store.catalog import Catalog
from agent.store.db import Database
from agent.store.scheduling import Scheduling
from agent.store.state_store import open_state_store
from agent.tasks.escalation import HumanAvailability

log = get_logger(__name__)


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> web.Application:
    """The whole agent as one aiohttp application; `clock` lets tests pin "now"."""
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[request_context])
    app[SETTINGS] = settings
    app[RATE_LIMITER] = RateLimiter(rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst)

    async def database(app: web.Application) -> AsyncIterator[None]:
        app[DATABASE] = await Database.open(settings.database_path, settings.seed_path)
        yield
        await app[DATABASE].aclose()

    async def state_store(app: web.Application) -> AsyncIterator[None]:
        store = open_state_store(settings.state_backend, redis_url=settings.redis_url, ttl_s=settings.session_ttl_s)
        app[STATE_STORE] = store
        if not await store.healthy():
            log.warning("state_store_unreachable", backend=store.backend)
        yield
        await store.aclose()

    async def events(app: web.Application) -> AsyncIterator[None]:
        app[EVENTS] = EventHub()
        yield
        await app[EVENTS].aclose()

    async def dialog(app: web.Application) -> AsyncIterator[None]:
        tz = ZoneInfo(settings.timezone)
        scheduling = Scheduling(app[DATABASE], tz)
        humans = HumanAvailability(
            store=app[STATE_STORE],
            scheduling=scheduling,
            catalog=Catalog(app[DATABASE]),
            events=app[EVENTS],
            tz=tz,
            min_s=settings.escalation_min_s,
            max_s=settings.escalation_max_s,
            available_probability=settings.human_available_probability,
            humans=settings.human_agents,
            seed=settings.escalation_seed,
        )
        app[HUMANS] = humans
        assembled = await assemble_dialog(
            settings,
            db=app[DATABASE],
            store=app[STATE_STORE],
            scheduling=scheduling,
            humans=humans,
            events=app[EVENTS],
            clock=clock,
        )
        app[BRAIN] = assembled.brain
        app[CONVERSATIONS] = assembled.conversations
        log.info("agent_ready", brain=assembled.brain.name, state_store=app[STATE_STORE].backend)
        yield
        await humans.aclose()
        await assembled.aclose()

    app.cleanup_ctx.extend([database, state_store, events, dialog])
    app.add_routes(api.routes)
    app.add_routes(websocket.routes)
    return app
