"""GET /ws/{session_id}: live events of one session (state, transcript, tasks, notifications, latency)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from agent.dialog.conversation import UnknownSession, state_event
from agent.log import bind_ids
from agent.server.clients import client_key
from agent.server.errors import ApiError
from agent.server.events import Subscriber
from agent.server.keys import CONVERSATIONS, EVENTS, SETTINGS
from agent.server.public_view import public_event
from agent.server.ratelimit import RATE_LIMITS
from agent.server.requests import parse_json

routes = web.RouteTableDef()
STREAMS_RETRY_AFTER_S = 10


def origin_allowed(request: web.Request) -> bool:
    """Browsers send Origin; allow our own host and the configured origins. Non-browser clients send none."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    settings = request.app[SETTINGS]
    if origin in settings.server.cors_origins or "*" in settings.server.cors_origins:
        return True
    return urlsplit(origin).netloc == request.host


@contextlib.contextmanager
def client_stream(request: web.Request) -> Iterator[None]:
    """Hold one of the client's WebSockets for as long as the block runs; past
    AGENT_MAX_WEBSOCKETS_PER_CLIENT open ones, 429 before the upgrade (each socket holds memory)."""
    limits = request.app.get(RATE_LIMITS)
    if limits is None:
        yield
        return
    client = client_key(request)
    cap = request.app[SETTINGS].server.max_websockets_per_client
    if limits.websockets.held(client) >= cap:
        raise ApiError(
            429,
            "too_many_streams",
            f"This client already has {cap} event streams open; close one first.",
            retry_after_s=STREAMS_RETRY_AFTER_S,
        )
    limits.websockets.acquire(client)
    try:
        yield
    finally:
        limits.websockets.release(client)


async def heartbeat(ws: web.WebSocketResponse, every_s: float) -> None:
    """Send a `heartbeat` event every `every_s` until the socket closes (clients use it to see a dead link)."""
    while not ws.closed:
        await asyncio.sleep(every_s)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await ws.send_json({"type": "heartbeat"})


async def answer_client_messages(ws: web.WebSocketResponse, subscriber: Subscriber) -> None:
    """Read what a client sends until it closes: `ping` gets `pong`; anything else gets a clear error event."""
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            data = parse_json(message.data)
        except ValueError:
            subscriber.offer({"type": "error", "error": "Messages must be JSON objects."})
            continue
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "ping":
            subscriber.offer({"type": "pong"})
        elif kind not in ("pong", "heartbeat"):
            subscriber.offer({"type": "error", "error": f"Unknown message type: {str(kind)[:40]!r}."})


@routes.get("/ws/{session_id}")
async def session_events(request: web.Request) -> web.StreamResponse:
    session_id = request.match_info["session_id"]
    bind_ids(session_id=session_id)
    if not origin_allowed(request):
        raise ApiError(403, "origin_not_allowed", "This origin may not open the event stream.")
    try:
        state = await request.app[CONVERSATIONS].get(session_id)
    except UnknownSession:
        raise ApiError(
            404, "unknown_session", "No such session; create one with POST /api/sessions."
        ) from None
    with client_stream(request):
        return await _stream_session(request, session_id, public_event(state_event(state)))


async def _stream_session(
    request: web.Request, session_id: str, first: dict[str, object]
) -> web.WebSocketResponse:
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(
        heartbeat=settings.server.ws_heartbeat_s, max_msg_size=settings.server.ws_max_message_bytes
    )
    await ws.prepare(request)
    hub = request.app[EVENTS]
    subscriber = hub.subscribe(session_id, ws)
    subscriber.offer(first)
    pump = asyncio.create_task(subscriber.pump(), name=f"ws-pump-{session_id}")
    beat = asyncio.create_task(heartbeat(ws, settings.server.ws_heartbeat_s), name=f"ws-beat-{session_id}")
    try:
        await answer_client_messages(ws, subscriber)
    finally:
        hub.unsubscribe(session_id, subscriber)
        for task in (pump, beat):
            task.cancel()
        await asyncio.gather(pump, beat, return_exceptions=True)
    return ws
