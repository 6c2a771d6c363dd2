"""The aiohttp app factory: every long-lived resource opens and closes in a cleanup_ctx generator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial

from aiohttp import web

from agent.calls.io import CallIO
from agent.calls.runner import CallRunner
from agent.config import Settings
from agent.log import get_logger
from agent.runtime import call_factory, open_runtime
from agent.server import api, calls_api, console, livekit_webhook, operator_ws, voice_api, websocket
from agent.server.errors import request_context
from agent.server.events import EventHub
from agent.server.keys import (
    BRAIN,
    BROWSER_ROOMS,
    CALL_LOG,
    CALL_RUNNER,
    CONVERSATIONS,
    DATABASE,
    EVENTS,
    HUMANS,
    LIVEKIT_CALLS,
    RATE_LIMITER,
    SETTINGS,
    SIP_ENDPOINT,
    STATE_STORE,
    WEBRTC_CALLS,
)
from agent.server.production import check_production
from agent.server.ratelimit import RateLimiter
from agent.store.calls import CallLog
from telephony.livekit.dispatch import LiveKitCallDispatcher, LiveKitRoomJoiner
from telephony.livekit.room_connect import RoomAccess
from telephony.sip import EndpointLimits, SipEndpoint
from telephony.sip_stack import StackConfig
from telephony.webrtc import WebRtcEndpoint

log = get_logger(__name__)


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> web.Application:
    """The whole agent as one aiohttp application; `clock` lets tests pin "now".
    Unsafe production settings end the process with a one-line reason (UnsafeProductionSettings)."""
    check_production(settings)
    server = settings.server
    app = web.Application(client_max_size=server.max_body_bytes, middlewares=[request_context])
    app[SETTINGS] = settings
    app[RATE_LIMITER] = RateLimiter(rate_per_s=server.rate_limit_per_s, burst=server.rate_limit_burst)
    app.cleanup_ctx.extend([_events, partial(_runtime, clock=clock), _sip, _webrtc])
    for routes in (api, calls_api, voice_api, operator_ws, websocket, console):  # operator_ws before /ws/{id}
        app.add_routes(routes.routes)
    if settings.livekit.livekit_enabled:
        add_livekit_calls(app)
    return app


def add_livekit_calls(app: web.Application) -> None:
    """Phone calls through LiveKit: verified webhooks start a call session for each SIP caller."""
    app.cleanup_ctx.append(_livekit_calls)
    app.add_routes(livekit_webhook.routes)


async def _events(app: web.Application) -> AsyncIterator[None]:
    app[EVENTS] = EventHub()
    yield
    await app[EVENTS].aclose()


async def _runtime(app: web.Application, *, clock: Callable[[], datetime] | None) -> AsyncIterator[None]:
    """Database, state store, dialog, speech models; the call runner when any voice entry is on."""
    settings = app[SETTINGS]
    voice_on = settings.sip.sip_enabled or settings.livekit.livekit_enabled or settings.webrtc.webrtc_enabled
    async with open_runtime(settings, events=app[EVENTS], clock=clock, voice=voice_on) as parts:
        app[DATABASE] = parts.database
        app[CALL_LOG] = CallLog(parts.database)
        if parts.voice is not None:
            factory = call_factory(settings, parts.dialog, parts.voice, app[EVENTS])
            app[CALL_RUNNER] = CallRunner(factory, settings.calls, call_log=app[CALL_LOG])
        app[STATE_STORE] = parts.state_store
        app[HUMANS] = parts.humans
        app[BRAIN] = parts.dialog.brain
        app[CONVERSATIONS] = parts.dialog.conversations
        log.info("agent_ready", brain=parts.dialog.brain.name, state_store=parts.state_store.backend)
        yield


async def _sip(app: web.Application) -> AsyncIterator[None]:
    """The embedded SIP endpoint: phone calls straight to this process, no LiveKit needed."""
    sip, calls = app[SETTINGS].sip, app[SETTINGS].calls
    if not sip.sip_enabled:
        yield
        return
    endpoint = SipEndpoint(
        StackConfig(
            host=sip.sip_host,
            port=sip.sip_port,
            user=sip.sip_user,
            rtp_port_min=sip.rtp_port_min,
            rtp_port_max=sip.rtp_port_max,
            media_timeout_s=sip.media_timeout_s,
        ),
        EndpointLimits(
            max_calls=sip.max_calls,
            busy_retry_after_s=sip.busy_retry_after_s,
            answer_delay_s=sip.sip_answer_delay_s,
        ),
        app[CALL_RUNNER].handler("sip"),
        transfer_allow_list=calls.transfer_allow_list,
    )
    await endpoint.start()
    app[SIP_ENDPOINT] = endpoint
    try:
        yield
    finally:
        await endpoint.aclose()


async def _webrtc(app: web.Application) -> AsyncIterator[None]:
    """The embedded WebRTC endpoint: browser calls joined to a console session, no LiveKit needed."""
    webrtc = app[SETTINGS].webrtc
    if not webrtc.webrtc_enabled:
        yield
        return

    async def run_call(call: CallIO, session_id: str) -> None:
        await app[CALL_RUNNER].run(call, "browser", session_id=session_id)

    endpoint = WebRtcEndpoint(
        run_call,
        max_calls=webrtc.max_browser_calls,
        host_addresses=webrtc.webrtc_host_addresses,
        ice_servers=webrtc.webrtc_ice_servers,
        peer_timeout_s=webrtc.webrtc_peer_timeout_s,
    )
    app[WEBRTC_CALLS] = endpoint
    try:
        yield
    finally:
        await endpoint.aclose()


async def _livekit_calls(app: web.Application) -> AsyncIterator[None]:
    """The LiveKit dispatcher: joins each SIP caller's room (and, in LiveKit mode, each console session's)."""
    settings = app[SETTINGS]
    livekit = settings.livekit

    async def run_call(call: CallIO) -> None:
        runner = app.get(CALL_RUNNER)
        if runner is None:
            log.error("livekit_call_without_runner", call_id=call.call_id)
            return
        await runner.run(call, "livekit")

    async def run_browser_call(call: CallIO, session_id: str) -> None:
        await app[CALL_RUNNER].run(call, "browser", session_id=session_id)

    dispatcher = LiveKitCallDispatcher(
        run_call,
        LiveKitRoomJoiner(RoomAccess.from_settings(livekit, settings.calls.transfer_allow_list)),
        room_prefix=livekit.livekit_room_prefix,
        on_browser_call=run_browser_call if CALL_RUNNER in app else None,
    )
    app[LIVEKIT_CALLS] = dispatcher
    app[BROWSER_ROOMS] = dispatcher
    log.info("livekit_calls_ready", url=livekit.livekit_url, room_prefix=livekit.livekit_room_prefix)
    try:
        yield
    finally:
        await dispatcher.aclose()
