"""LiveKit webhooks: who listens for them (a Protocol) and how one is verified (livekit-api token + body hash)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Protocol

from google.protobuf import json_format
from livekit import api


class LiveKitCallEvents(Protocol):
    """Whatever turns LiveKit room events into calls (the LiveKit dispatcher, composed in app.py).

    Called on the event loop with a verified event; must return at once (start tasks, don't await calls),
    because LiveKit waits for the webhook's answer.
    """

    def on_webhook(self, event: api.WebhookEvent) -> None: ...


class WebhookRejected(Exception):
    """The request is not a webhook we can trust or read; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify_webhook(body: bytes, authorization: str, *, api_key: str, api_secret: str) -> api.WebhookEvent:
    """Check a webhook as `api.WebhookReceiver.receive` does, but tell forgeries (401) from bad bodies (400).

    LiveKit signs each webhook with a JWT (issuer = API key, HS256 with the secret) whose `sha256`
    claim is the base64 SHA-256 of the exact body bytes. The signature and the hash are checked first,
    so nothing about an unauthenticated body is parsed or reported.
    """
    token = authorization.removeprefix("Bearer ").strip()
    if not token:
        raise WebhookRejected(401, "missing Authorization token")
    try:
        claims = api.TokenVerifier(api_key, api_secret).verify(token)
    except Exception as exc:  # pyjwt raises many types: expired, bad signature, wrong issuer, garbage
        raise WebhookRejected(401, f"invalid token: {type(exc).__name__}") from exc
    try:
        signed_hash = base64.b64decode(claims.sha256 or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookRejected(401, "token carries no valid body hash") from exc
    if not signed_hash or not hmac.compare_digest(hashlib.sha256(body).digest(), signed_hash):
        raise WebhookRejected(401, "body does not match the signed hash")
    try:
        text = body.decode("utf-8")
        event = json_format.Parse(text, api.WebhookEvent(), ignore_unknown_fields=True)
    except (UnicodeDecodeError, json_format.ParseError, RecursionError) as exc:
        raise WebhookRejected(400, f"malformed webhook body: {type(exc).__name__}") from exc
    if not event.event:
        raise WebhookRejected(400, "webhook without an event name")
    return event
