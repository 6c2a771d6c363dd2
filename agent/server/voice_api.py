"""Browser voice calls over the embedded WebRTC endpoint: answer a session's SDP offer, hang a call up."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from agent import metrics
from agent.calls.browser import (
    BadOffer,
    BrowserCallRefused,
    BrowserCalls,
    TooManyBrowserCalls,
    TooManyLinesHeld,
)
from agent.dialog.conversation import UnknownSession
from agent.log import bind_ids, get_logger
from agent.server.clients import client_key
from agent.server.errors import ApiError
from agent.server.keys import CONVERSATIONS, WEBRTC_CALLS
from agent.server.requests import read_json

log = get_logger(__name__)

routes = web.RouteTableDef()

# A line is free again within the peer timeout (15 s) at most; a busy caller is told to try again after this.
LINES_RETRY_AFTER_S = 15
MAX_SDP_CHARS = 32 * 1024  # a browser's audio offer is 2-6 KB; the body cap (max_body_bytes) applies as well


class WebRtcOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(min_length=1, max_length=100)
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)
    type: Literal["offer"]


def _require_json(request: web.Request) -> None:
    """The offer travels inside JSON; a raw SDP body (application/sdp, as WHIP sends) or a form is refused."""
    kind = request.content_type
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f'Send the offer as a JSON object {{"session_id", "sdp", "type": "offer"}} with Content-Type: '
            f"application/json, not {kind}.",
        )


def _browser_calls(request: web.Request) -> BrowserCalls:
    calls = request.app.get(WEBRTC_CALLS)
    if calls is None:
        raise ApiError(503, "voice_unavailable", "Browser calls are turned off on this server.")
    return calls


@routes.post("/api/voice/webrtc")
async def answer_offer(request: web.Request) -> web.Response:
    """The browser's SDP offer (ICE candidates included) in; our answer and the new call's id out."""
    _require_json(request)
    body = await read_json(request, WebRtcOffer)
    bind_ids(session_id=body.session_id)
    calls = _browser_calls(request)
    try:
        await request.app[CONVERSATIONS].get(body.session_id)
    except UnknownSession:
        raise ApiError(
            404, "unknown_session", "No such session; create one with POST /api/sessions."
        ) from None
    try:
        answered = await calls.answer(body.sdp, body.session_id, client=client_key(request))
    except BadOffer as exc:
        raise ApiError(422, exc.code, exc.message) from None
    except TooManyLinesHeld as exc:
        raise ApiError(429, exc.code, exc.message, retry_after_s=LINES_RETRY_AFTER_S) from None
    except BrowserCallRefused as exc:
        if isinstance(exc, TooManyBrowserCalls):
            metrics.call_refused_busy("browser")
        raise ApiError(503, exc.code, exc.message, retry_after_s=LINES_RETRY_AFTER_S) from None
    return web.json_response(
        {"type": "answer", "sdp": answered.sdp, "call_id": answered.call_id, "session_id": body.session_id}
    )


@routes.delete("/api/voice/webrtc/{call_id}")
async def end_call(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    if not await _browser_calls(request).end_call(call_id):
        raise ApiError(404, "unknown_call", "No such browser call (it may have ended already).")
    log.info("webrtc_call_ended_by_request", call_id=call_id)
    return web.Response(status=204)
