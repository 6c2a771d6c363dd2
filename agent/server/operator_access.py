"""Who may use the operator endpoints (calls API, recordings, operator WebSocket): host, origin, client, token."""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from aiohttp import web

from agent.config import ServerSettings
from agent.server.errors import ApiError
from agent.server.keys import SETTINGS

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# A request a proxy forwarded came from somewhere else, even when the proxy itself connects from loopback.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def allowed_hosts(server: ServerSettings) -> frozenset[str]:
    """Loopback names, the address the server listens on (unless a wildcard) and AGENT_ALLOWED_HOSTS."""
    hosts = set(LOOPBACK_NAMES) | {host.strip().lower().strip("[]") for host in server.allowed_hosts}
    if server.host not in ("0.0.0.0", "::", ""):
        hosts.add(server.host.lower().strip("[]"))
    return frozenset(hosts)


def _hostname(netloc: str) -> str:
    """The host of a Host header or URL authority, without port or IPv6 brackets, lower case."""
    try:
        return (urlsplit(f"//{netloc}").hostname or "").lower()
    except ValueError:  # an unparseable port or bracket
        return ""


def host_allowed(request: web.Request) -> bool:
    """Host and Origin (when sent) name this server; a DNS-rebinding page's own domain does not."""
    hosts = allowed_hosts(request.app[SETTINGS].server)
    if "*" in hosts:
        return True
    if _hostname(request.headers.get("Host", "")) not in hosts:
        return False
    origin = request.headers.get("Origin")
    if origin is None or origin in request.app[SETTINGS].server.cors_origins:
        return True
    return _hostname(urlsplit(origin).netloc) in hosts


def client_on_loopback(request: web.Request) -> bool:
    """The client connected from this machine and no proxy says it forwarded someone else."""
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address((request.remote or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def given_token(request: web.Request) -> str:
    """`Authorization: Bearer <token>`, or `?token=` (what an <audio> element and a WebSocket can send)."""
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() or request.query.get("token", "")


def require_operator(request: web.Request) -> None:
    """Let an operator through, or raise ApiError.

    403 `host_not_allowed`: the Host or Origin is not on the allow-list (a page of another domain).
    With AGENT_OPERATOR_TOKEN set, every client needs it (401 otherwise), in every environment. Without one
    (development only: production refuses to start), a client on loopback is let in and any other gets 403.
    """
    if not host_allowed(request):
        raise ApiError(
            403, "host_not_allowed", "This host name or origin may not use the operator endpoints."
        )
    server = request.app[SETTINGS].server
    token = server.operator_token.get_secret_value() if server.operator_token else ""
    if token:
        if not hmac.compare_digest(given_token(request).encode(), token.encode()):
            raise ApiError(
                401,
                "unauthorized",
                "An operator token is required (Authorization: Bearer ... or ?token=...).",
            )
        return
    if not client_on_loopback(request):
        raise ApiError(
            403, "operator_token_not_set", "Set AGENT_OPERATOR_TOKEN to open the operator endpoints."
        )
