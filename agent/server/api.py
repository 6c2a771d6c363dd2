"""The JSON API: health, sessions, chat turns and LiveKit voice tokens."""

from __future__ import annotations

import unicodedata
from typing import Any

from aiohttp import web

from agent import metrics
from agent.dialog.conversation import UnknownSession
from agent.dialog.state import ConversationState
from agent.log import bind_ids, get_logger
from agent.server.errors import ApiError
from agent.server.keys import (
    BROWSER_ROOMS,
    CONVERSATIONS,
    DATABASE,
    LIVEKIT_CALLS,
    SETTINGS,
    SIP_ENDPOINT,
    STATE_STORE,
    WEBRTC_CALLS,
)
from agent.server.public_view import public_customer
from agent.server.requests import ChatMessage, CreateSession, VoiceTokenRequest, read_json
from agent.server.tokens import issue_caller_token
from agent.store.phone_numbers import normalize_phone
from agent.store.state_store import StateStoreUnavailable

log = get_logger(__name__)
routes = web.RouteTableDef()
TURN_RETRY_AFTER_S = 10


def clean_message(text: str, max_chars: int) -> str:
    """Drop control characters (keeping spaces), trim, and refuse empty or oversized messages."""
    cleaned = "".join(
        " " if ch in "\t\r\n" else ch for ch in text if ch in "\t\r\n" or unicodedata.category(ch)[0] != "C"
    ).strip()
    if not cleaned:
        raise ApiError(422, "empty_message", "The message is empty.")
    if len(cleaned) > max_chars:
        raise ApiError(413, "message_too_long", f"The message is longer than {max_chars} characters.")
    return cleaned


def turn_body(state: ConversationState, processing_ms: float | None = None) -> dict[str, Any]:
    dumped = state.to_json()
    body: dict[str, Any] = {
        "session_id": state.session_id,
        "reply": state.reply,
        "intent": state.detected_intent,
        "confidence": round(state.confidence, 3),
        "agent": state.current_agent,
        "slots": dumped["booking_slots"],
        "customer": public_customer(dumped["customer"]),
        "escalation_in_progress": state.escalation_in_progress,
        "human_agent_status": state.human_agent_status,
        "pending_tasks": dumped["pending_tasks"],
        "turn_count": state.turn_count,
        "ended": state.ended,
        "understood_by": state.understood_by,
        "slots_found_by": state.slots_found_by,
        "reply_by": state.reply_by,
    }
    if processing_ms is not None:
        body["processing_ms"] = round(processing_ms, 1)
    return body


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    database_ok = await request.app[DATABASE].healthy()
    store = request.app[STATE_STORE]
    store_ok = await store.healthy()
    ok = database_ok and store_ok
    body: dict[str, Any] = {
        "status": "ok" if ok else "degraded",
        "database": "ok" if database_ok else "unavailable",
        "state_store": {"backend": store.backend, "status": "ok" if store_ok else "unavailable"},
        "brain": request.app[SETTINGS].dialog.brain,
    }
    endpoints: tuple[tuple[str, Any], ...] = (
        ("sip", request.app.get(SIP_ENDPOINT)),
        ("webrtc", request.app.get(WEBRTC_CALLS)),
        ("livekit", request.app.get(LIVEKIT_CALLS)),
    )
    for entry, lines in endpoints:
        if hasattr(lines, "active_calls"):  # every entry with a cap counts its lines the same way
            body[entry] = {
                "active_calls": lines.active_calls,
                "max_calls": lines.max_calls,
                "answered": lines.answered,
                "refused_busy": lines.refused,
            }
    return web.json_response(body, status=200 if ok else 503)


@routes.get("/metrics")
async def prometheus_metrics(request: web.Request) -> web.Response:
    body, content_type = metrics.exposition()
    response = web.Response(body=body)
    response.content_type = content_type
    return response


@routes.post("/api/sessions")
async def create_session(request: web.Request) -> web.Response:
    """A new conversation; `phone` is what a caller id would say, taken as a claim: a known customer is
    greeted by first name, and nothing else of their record is shown (public_view)."""
    body = await read_json(request, CreateSession, optional=True)
    if body.phone is not None and normalize_phone(body.phone) is None:
        raise ApiError(422, "invalid_phone", "The phone number is not a valid phone number.")
    state = await request.app[CONVERSATIONS].start(
        body.phone,
        channel="voice" if body.channel == "voice" else "chat",
        caller_verified=False,  # a typed number is a claim (issue 16, findings 1 and 3)
    )
    return web.json_response(
        {
            "session_id": state.session_id,
            "greeting": state.reply,
            "customer": public_customer(state.customer.model_dump()),
        },
        status=201,
    )


@routes.get("/api/sessions/{session_id}")
async def get_session(request: web.Request) -> web.Response:
    bind_ids(session_id=request.match_info["session_id"])
    try:
        state = await request.app[CONVERSATIONS].get(request.match_info["session_id"])
    except UnknownSession:
        raise ApiError(404, "unknown_session", "No such session (it may have ended or expired).") from None
    body = turn_body(state)
    body["messages"] = [
        {"role": "user" if m.type == "human" else "assistant", "content": m.content} for m in state.messages
    ]
    return web.json_response(body)


@routes.delete("/api/sessions/{session_id}")
async def end_session(request: web.Request) -> web.Response:
    bind_ids(session_id=request.match_info["session_id"])
    if not await request.app[CONVERSATIONS].end(request.match_info["session_id"]):
        raise ApiError(404, "unknown_session", "No such session (it may have ended or expired).")
    return web.json_response({"ended": True})


@routes.post("/api/chat")
async def chat(request: web.Request) -> web.Response:
    body = await read_json(request, ChatMessage)
    settings = request.app[SETTINGS]
    text = clean_message(body.message, settings.server.max_message_chars)
    try:
        result = await request.app[CONVERSATIONS].handle_turn(body.session_id, text)
    except UnknownSession:
        raise ApiError(
            404, "unknown_session", "No such session; create one with POST /api/sessions."
        ) from None
    except StateStoreUnavailable:
        raise
    except Exception as exc:  # the database failed mid-turn: the turn did not happen; say so clearly
        metrics.error("http")
        log.exception("chat_turn_failed")
        raise ApiError(
            503,
            "turn_failed",
            "Our system isn't responding right now, so that wasn't done. Please send it again in a moment.",
            retry_after_s=TURN_RETRY_AFTER_S,
        ) from exc
    metrics.chat_turn(result.state.detected_intent, result.processing_ms / 1000)
    return web.json_response(turn_body(result.state, result.processing_ms))


@routes.post("/api/voice/token")
async def voice_token(request: web.Request) -> web.Response:
    body = await read_json(request, VoiceTokenRequest)
    bind_ids(session_id=body.session_id)
    try:
        await request.app[CONVERSATIONS].get(body.session_id)
    except UnknownSession:
        raise ApiError(
            404, "unknown_session", "No such session; create one with POST /api/sessions."
        ) from None
    settings = request.app[SETTINGS]
    token = issue_caller_token(
        session_id=body.session_id,
        api_key=settings.livekit.livekit_api_key,
        api_secret=settings.livekit.livekit_api_secret.get_secret_value(),
        url=settings.livekit.livekit_url,
        ttl_s=settings.livekit.voice_token_ttl_s,
        name=body.name,
    )
    rooms = request.app.get(BROWSER_ROOMS)  # LiveKit mode: the agent joins the room the caller will join
    if rooms is not None:
        rooms.join_browser_room(token.room, token.identity, body.session_id)
    return web.json_response(
        {
            "token": token.token,
            "room": token.room,
            "identity": token.identity,
            "url": token.url,
            "ttl_s": token.ttl_s,
        }
    )
