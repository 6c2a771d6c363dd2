"""POST /livekit/webhook: LiveKit tells the agent about rooms and participants (signed); calls start here."""

from __future__ import annotations

from aiohttp import web

from agent.log import get_logger
from agent.server.errors import ApiError
from agent.server.keys import LIVEKIT_CALLS, SETTINGS
from agent.server.livekit_events import WebhookRejected, verify_webhook

log = get_logger(__name__)

routes = web.RouteTableDef()

_CODES = {400: "malformed_webhook", 401: "unauthorized"}


@routes.post("/livekit/webhook")
async def livekit_webhook(request: web.Request) -> web.Response:
    """Verify the webhook (401 forged or expired, 400 unreadable), hand it to the dispatcher, answer 200.

    LiveKit posts every room event of the project here; only "a SIP caller joined one of our rooms"
    starts anything, and the dispatcher decides that. A webhook arriving while LiveKit calls are
    disabled is verified and acknowledged, and nothing else happens.
    """
    settings = request.app[SETTINGS]
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "body_too_large", "The webhook body is too large.") from exc
    try:
        event = verify_webhook(
            body,
            request.headers.get("Authorization", ""),
            api_key=settings.livekit.livekit_api_key,
            api_secret=settings.livekit.livekit_api_secret.get_secret_value(),
        )
    except WebhookRejected as exc:
        log.warning("livekit_webhook_rejected", status=exc.status, reason=exc.reason)
        raise ApiError(exc.status, _CODES[exc.status], exc.reason) from exc
    log.info(
        "livekit_webhook",
        event_name=event.event,
        room=event.room.name or None,
        participant=event.participant.identity or None,
    )
    listener = request.app.get(LIVEKIT_CALLS)
    if listener is not None:
        listener.on_webhook(event)
    return web.json_response({"ok": True})
