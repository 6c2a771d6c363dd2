"""The aiohttp app factory: every long-lived resource opens and closes in a cleanup_ctx generator."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from aiohttp import web

from agent import metrics
from agent.calls.busy import BusyLine
from agent.calls.io import CallIO, UnansweredCall
from agent.calls.retention import RecordingRetention
from agent.calls.runner import CallRunner
from agent.config import Settings
from agent.log import get_logger
from agent.runtime import call_factory, open_runtime
from agent.server import api, calls_api, console, livekit_webhook, operator_ws, voice_api, websocket
from agent.server.drain import DRAIN, Drain, refuse_while_draining
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
    SETTINGS,
    SIP_ENDPOINT,
    STATE_STORE,
    WEBRTC_CALLS,
)
from agent.server.production import check_production
from agent.server.ratelimit import RATE_LIMITS, RateLimits, limit_requests
from agent.server.signed_links import LINK_KEY, link_key
from agent.store.callbacks import Callbacks
from agent.store.calls import CallLog
from agent.store.models import Callback
from agent.tasks.callback_dialer import CallbackDialer, DialPolicy
from telephony.livekit.dispatch import DispatchLimits, LiveKitCallDispatcher, LiveKitRoomJoiner
from telephony.livekit.room_claims import LocalRoomClaims, RedisRoomClaims, RoomClaims
from telephony.livekit.room_connect import RoomAccess
from telephony.livekit.sip_admin import dial_callback
from telephony.sip import EndpointLimits, SipEndpoint
from telephony.sip_stack import StackConfig
from telephony.sip_trust import untrusted_allowed_by_default
from telephony.webrtc import WebRtcEndpoint

log = get_logger(__name__)


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> web.Application:
    """The whole agent as one aiohttp application; `clock` lets tests pin "now".
    Unsafe production settings end the process with a one-line reason (UnsafeProductionSettings)."""
    check_production(settings)
    server = settings.server
    app = web.Application(
        client_max_size=server.max_body_bytes,
        middlewares=[request_context, refuse_while_draining, limit_requests],
    )
    app[SETTINGS] = settings
    app[DRAIN] = Drain()
    app[RATE_LIMITS] = RateLimits.from_settings(server)
    app[LINK_KEY] = link_key(server)
    app.cleanup_ctx.extend([_events, partial(_runtime, clock=clock), _sip, _webrtc, _recording_retention])
    for routes in (api, calls_api, voice_api, operator_ws, websocket, console):  # operator_ws before /ws/{id}
        app.add_routes(routes.routes)
    if settings.livekit.livekit_enabled:
        add_livekit_calls(app)
    return app


def add_livekit_calls(app: web.Application) -> None:
    """Phone calls through LiveKit: verified webhooks start a call session for each SIP caller."""
    app.cleanup_ctx.extend([_livekit_calls, _callback_dialer])
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
            callbacks = Callbacks(parts.database, ZoneInfo(settings.store.timezone))
            busy = BusyLine(parts.voice.tts, callbacks, settings.livekit.livekit_busy_callback_after_s)
            app[CALL_RUNNER] = CallRunner(factory, settings.calls, call_log=app[CALL_LOG], busy_line=busy)
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
    allow_untrusted = sip.sip_allow_untrusted  # unset: refused only in production on a network address
    if allow_untrusted is None:
        allow_untrusted = untrusted_allowed_by_default(app[SETTINGS].server.environment, sip.sip_host)
    endpoint = SipEndpoint(
        StackConfig(
            host=sip.sip_host,
            port=sip.sip_port,
            user=sip.sip_user,
            rtp_port_min=sip.rtp_port_min,
            rtp_port_max=sip.rtp_port_max,
            media_timeout_s=sip.media_timeout_s,
            jitter_buffer=sip.sip_jitter_buffer,
            jitter_buffer_ms=(sip.sip_jitter_buffer_min_ms, sip.sip_jitter_buffer_max_ms),
            invites_per_source_per_s=sip.sip_invites_per_source_per_s,
            invite_burst_per_source=sip.sip_invite_burst_per_source,
            busy_retry_after_s=sip.busy_retry_after_s,
            trusted_peers=sip.sip_trusted_peers,
            allow_untrusted=allow_untrusted,
            auth_username=sip.sip_auth_username,
            auth_password=sip.sip_auth_password.get_secret_value(),
            auth_nonce_ttl_s=sip.sip_auth_nonce_ttl_s,
        ),
        EndpointLimits(
            max_calls=sip.max_calls,
            busy_retry_after_s=sip.busy_retry_after_s,
            answer_delay_s=sip.sip_answer_delay_s,
            max_calls_per_source=sip.sip_max_calls_per_source,
        ),
        app[CALL_RUNNER].handler("sip"),
        transfer_allow_list=calls.transfer_allow_list,
        on_unanswered=app[CALL_RUNNER].missed_handler("sip"),
        on_refused=partial(metrics.call_refused_busy, "sip"),
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
        max_calls_per_client=webrtc.max_browser_calls_per_client,
        max_calls_per_session=webrtc.max_browser_calls_per_session,
        host_addresses=webrtc.webrtc_host_addresses,
        ice_servers=webrtc.webrtc_ice_servers,
        peer_timeout_s=webrtc.webrtc_peer_timeout_s,
    )
    app[WEBRTC_CALLS] = endpoint
    try:
        yield
    finally:
        await endpoint.aclose()


async def _recording_retention(app: web.Application) -> AsyncIterator[None]:
    """Recordings past AGENT_RECORDING_RETENTION_DAYS are deleted, hourly (0 days: kept forever)."""
    calls = app[SETTINGS].calls
    if not calls.recording_retention_days or CALL_LOG not in app:
        yield
        return
    retention = RecordingRetention(app[CALL_LOG], calls.recordings_path, calls.recording_retention_days)
    task = asyncio.create_task(retention.run(), name="recording-retention")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _room_claims(settings: Settings) -> RoomClaims:
    """In Redis when processes share it (the redis state backend), else in this process."""
    ttl_s = settings.livekit.livekit_room_claim_ttl_s
    if settings.store.state_backend == "redis":
        return RedisRoomClaims(settings.store.redis_url, ttl_s)
    return LocalRoomClaims(ttl_s)


async def _livekit_calls(app: web.Application) -> AsyncIterator[None]:
    """The LiveKit dispatcher: joins each SIP caller's room (and, in LiveKit mode, each console session's)."""
    settings = app[SETTINGS]
    livekit = settings.livekit

    def runner(room: str) -> CallRunner | None:
        found = app.get(CALL_RUNNER)
        if found is None:
            log.error("livekit_call_without_runner", call_id=room)
        return found

    async def run_call(call: CallIO) -> None:
        if found := runner(call.call_id):
            await found.run(call, "livekit")

    async def turn_away(call: CallIO) -> None:
        if found := runner(call.call_id):
            await found.turn_away(call, "livekit")

    async def missed(call: UnansweredCall) -> None:
        if found := runner(call.call_id):
            await found.missed(call, "livekit")

    async def run_browser_call(call: CallIO, session_id: str) -> None:
        await app[CALL_RUNNER].run(call, "browser", session_id=session_id)

    dispatcher = LiveKitCallDispatcher(
        run_call,
        LiveKitRoomJoiner(RoomAccess.from_settings(livekit, settings.calls.transfer_allow_list)),
        room_prefix=livekit.livekit_room_prefix,
        on_browser_call=run_browser_call if CALL_RUNNER in app else None,
        limits=DispatchLimits(max_calls=livekit.livekit_max_calls, on_busy=turn_away),
        claims=_room_claims(settings),
        on_missed=missed,
    )
    app[LIVEKIT_CALLS] = dispatcher
    app[BROWSER_ROOMS] = dispatcher
    log.info("livekit_calls_ready", url=livekit.livekit_url, room_prefix=livekit.livekit_room_prefix)
    try:
        yield
    finally:
        await dispatcher.aclose()


async def _callback_dialer(app: web.Application) -> AsyncIterator[None]:
    """Callbacks from the callbacks table, dialled through the outbound trunk when due (LiveKit only)."""
    settings = app[SETTINGS]
    livekit = settings.livekit
    trunk = livekit.livekit_outbound_trunk_id or livekit.livekit_sip_outbound_address
    if not (livekit.livekit_callbacks_enabled and trunk) or DATABASE not in app:
        yield  # no outbound trunk: callbacks stay in the table for a person to make
        return

    async def dial(callback: Callback) -> None:
        room = f"{livekit.livekit_room_prefix}callback-{callback.id}-{secrets.token_hex(3)}"
        await dial_callback(livekit, number=callback.phone or "", room=room)

    policy = DialPolicy(
        poll_s=livekit.livekit_callback_poll_s,
        retry_after_s=livekit.livekit_callback_retry_after_s,
        attempts=livekit.livekit_callback_attempts,
    )
    callbacks = Callbacks(app[DATABASE], ZoneInfo(settings.store.timezone))
    task = asyncio.create_task(CallbackDialer(callbacks, dial, policy).run(), name="callback-dialer")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
