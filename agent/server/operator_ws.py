"""GET /ws/operator: live calls for operators: a snapshot, call start/end, and the live events of every call."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
from typing import Any

from aiohttp import web

from agent.log import get_logger
from agent.server.errors import ApiError
from agent.server.events import ALL_SESSIONS, OPERATORS
from agent.server.keys import CALL_LOG, CALL_RUNNER, EVENTS, SETTINGS
from agent.server.operator_access import require_operator
from agent.server.signed_links import LINK_KEY, signed_link
from agent.server.websocket import answer_client_messages, client_stream, heartbeat, origin_allowed

log = get_logger(__name__)
routes = web.RouteTableDef()

# How often the set of live calls is read again: a call's session id can become known after it started.
RESYNC_EVERY_S = 2.0


def _plain_call(call: Any) -> dict[str, Any]:
    """One live call as JSON, whatever shape the source keeps it in (dict, dataclass, model, record)."""
    if isinstance(call, dict):
        data = dict(call)
    elif hasattr(call, "to_json"):
        data = dict(call.to_json())
    elif dataclasses.is_dataclass(call) and not isinstance(call, type):
        data = dataclasses.asdict(call)
    elif hasattr(call, "model_dump"):
        data = dict(call.model_dump(mode="json"))
    else:
        data = {key: value for key, value in vars(call).items() if not key.startswith("_")}
    data.pop("recording_path", None)  # a server path; operators fetch /api/calls/{id}/recording instead
    return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


async def active_calls(app: web.Application) -> list[dict[str, Any]]:
    """Live calls from the call runner when it tracks them, else the calls table's unfinished rows."""
    runner = app.get(CALL_RUNNER)
    listing = getattr(runner, "active", None) if runner is not None else None
    if callable(listing):
        calls = listing()
        if inspect.isawaitable(calls):
            calls = await calls
        return [_plain_call(call) for call in calls]
    return [_plain_call(record) for record in await app[CALL_LOG].active()]


class OperatorFeed:
    """Which sessions belong to live calls, so only their events (and the "operators" channel) get through."""

    def __init__(self) -> None:
        self.sessions: set[str] = set()
        self.calls: dict[str, str | None] = {}  # call id -> session id (None until known)

    def replace(self, calls: list[dict[str, Any]]) -> bool:
        """Take a fresh list of live calls; True when it differs from what the operator was last sent."""
        mapping = {str(call.get("call_id")): call.get("session_id") or None for call in calls}
        changed = mapping != self.calls
        self.calls = mapping
        self.sessions = {session for session in mapping.values() if session}
        return changed

    def accepts(self, channel: str, event: dict[str, Any]) -> bool:
        """Called by EventHub.publish for every event: keep it cheap and synchronous."""
        if channel == OPERATORS:
            call_id = str(event.get("call_id"))
            session_id = event.get("session_id") or None
            if event.get("type") == "call_started":
                self.calls[call_id] = session_id
                if session_id:
                    self.sessions.add(session_id)
            elif event.get("type") == "call_ended":
                self.calls.pop(call_id, None)
                if session_id:
                    self.sessions.discard(session_id)
            return True
        return channel in self.sessions


async def _resync(ws: web.WebSocketResponse, app: web.Application, feed: OperatorFeed) -> None:
    """Keep the live-call list right even when an event was missed; send a new snapshot when it changed."""
    while not ws.closed:
        await asyncio.sleep(RESYNC_EVERY_S)
        try:
            calls = await active_calls(app)
        except Exception:
            log.exception("operator_resync_failed")
            continue
        if feed.replace(calls):
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await ws.send_json({"type": "snapshot", "calls": calls})


@routes.get("/api/operator/stream-link")
async def operator_stream_link(request: web.Request) -> web.Response:
    """A signed, short-lived /ws/operator URL: a browser's WebSocket cannot send the Authorization header."""
    require_operator(request)
    ttl_s = request.app[SETTINGS].server.operator_link_ttl_s
    url = signed_link(request.app[LINK_KEY], "/ws/operator", ttl_s)
    return web.json_response({"url": url, "ttl_s": ttl_s}, headers={"Cache-Control": "no-store"})


@routes.get("/ws/operator")
async def operator_events(request: web.Request) -> web.StreamResponse:
    if not origin_allowed(request):
        raise ApiError(403, "origin_not_allowed", "This origin may not open the operator stream.")
    require_operator(request)
    with client_stream(request):
        return await _stream_operator_events(request)


async def _stream_operator_events(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    settings = app[SETTINGS]
    ws = web.WebSocketResponse(
        heartbeat=settings.server.ws_heartbeat_s, max_msg_size=settings.server.ws_max_message_bytes
    )
    await ws.prepare(request)
    feed = OperatorFeed()
    hub = app[EVENTS]
    # Subscribe before reading the snapshot, so a call starting in between is not missed.
    subscriber = hub.subscribe(ALL_SESSIONS, ws, accepts=feed.accepts)
    try:
        calls = await active_calls(app)
    except Exception:
        log.exception("operator_snapshot_failed")
        calls = []
    feed.replace(calls)
    subscriber.offer({"type": "snapshot", "calls": calls})
    tasks = [
        asyncio.create_task(subscriber.pump(), name="operator-ws-pump"),
        asyncio.create_task(heartbeat(ws, settings.server.ws_heartbeat_s), name="operator-ws-beat"),
        asyncio.create_task(_resync(ws, app, feed), name="operator-ws-resync"),
    ]
    try:
        await answer_client_messages(ws, subscriber)
    finally:
        hub.unsubscribe(ALL_SESSIONS, subscriber)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return ws
