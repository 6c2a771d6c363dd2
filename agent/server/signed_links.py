"""Short-lived signed links for what a browser cannot send a header with (an <audio> element's recording, the
operator WebSocket): the operator token itself never goes into a URL, where logs and history would keep it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

from aiohttp import web

from agent.config import ServerSettings

LINK_KEY = web.AppKey("link_key", bytes)
_LABEL = b"dealership-agent operator links v1"


def link_key(server: ServerSettings) -> bytes:
    """Derived from the operator token, so every process that shares the token accepts the others' links
    (and a new token voids the old links); without a token (development), a key of this process only."""
    token = server.operator_token.get_secret_value() if server.operator_token else ""
    if token:
        return hmac.new(token.encode(), _LABEL, hashlib.sha256).digest()
    return secrets.token_bytes(32)


def _signature(key: bytes, path: str, expires: int) -> str:
    digest = hmac.new(key, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def signed_link(key: bytes, path: str, ttl_s: float, now: float | None = None) -> str:
    """`path` (as the server will see it, decoded) with `expires` and `sig` in its query."""
    expires = int((time.time() if now is None else now) + ttl_s)
    return f"{quote(path)}?expires={expires}&sig={_signature(key, path, expires)}"


def carries_link(request: web.Request) -> bool:
    return "sig" in request.query or "expires" in request.query


def link_valid(request: web.Request, key: bytes, now: float | None = None) -> bool:
    """The request's own path, signed with `key`, not yet expired."""
    try:
        expires = int(request.query.get("expires", ""))
    except ValueError:
        return False
    if expires < (time.time() if now is None else now):
        return False
    expected = _signature(key, request.path, expires)
    return hmac.compare_digest(request.query.get("sig", "").encode(), expected.encode())
