"""The calls API for operators: recent calls with outcome, transcript and latency, and their recordings."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from agent.server.errors import ApiError
from agent.server.keys import CALL_LOG, SETTINGS
from agent.server.operator_access import require_operator
from agent.server.signed_links import LINK_KEY, signed_link

routes = web.RouteTableDef()
MAX_PAGE = 200


def _int_param(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_parameter", f"'{name}' must be a whole number.") from None
    if not 0 <= value <= high:
        raise ApiError(400, "bad_parameter", f"'{name}' must be between 0 and {high}.")
    return value


@routes.get("/api/calls")
async def list_calls(request: web.Request) -> web.Response:
    require_operator(request)
    limit = _int_param(request, "limit", 50, MAX_PAGE)
    offset = _int_param(request, "offset", 0, 1_000_000)
    calls = await request.app[CALL_LOG].recent(limit=limit, offset=offset)
    return web.json_response({"calls": [call.to_json() for call in calls]})


@routes.get("/api/calls/{call_id}")
async def get_call(request: web.Request) -> web.Response:
    """One call; with a recording, `recording_url` is a signed link to it an <audio> element can play
    (valid AGENT_OPERATOR_LINK_TTL_S), since an element cannot send the Authorization header."""
    require_operator(request)
    call_id = request.match_info["call_id"]
    call = await request.app[CALL_LOG].get(call_id)
    if call is None:
        raise ApiError(404, "unknown_call", "No call with that id.")
    body = call.to_json()
    if call.recording_path:
        ttl_s = request.app[SETTINGS].server.operator_link_ttl_s
        body["recording_url"] = signed_link(request.app[LINK_KEY], f"/api/calls/{call_id}/recording", ttl_s)
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.get("/api/calls/{call_id}/recording")
async def get_recording(request: web.Request) -> web.StreamResponse:
    require_operator(request)
    call = await request.app[CALL_LOG].get(request.match_info["call_id"])
    if call is None or not call.recording_path:
        raise ApiError(404, "no_recording", "That call has no recording.")
    path = Path(call.recording_path)
    if not await asyncio.to_thread(path.is_file):
        raise ApiError(410, "recording_gone", "The recording of that call is no longer on disk.")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})
