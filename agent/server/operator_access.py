"""Who may use the operator endpoints (calls API, recordings, operator WebSocket): host, origin, client, token."""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from aiohttp import web

from agent.config import ServerSettings
from agent.server.clients import client_key
from agent.server.errors import ApiError
from agent.server.keys import SETTINGS
from agent.server.ratelimit import RATE_LIMITS, too_many
from agent.server.signed_links import LINK_KEY, carries_link, link_valid

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
    """`Authorization: Bearer <token>`: the only place the token is read (never the query string)."""
    return request.headers.get("Authorization", "").removeprefix("Bearer ").strip()


def _refuse(request: web.Request, code: str, message: str) -> ApiError:
    """A failed operator credential: counted against the client (AGENT_OPERATOR_TOKEN_FAILURES_PER_MIN)."""
    limits = request.app.get(RATE_LIMITS)
    if limits is not None:
        limits.operator_failures.take(client_key(request))
    return ApiError(401, code, message)


def _check_credentials(request: web.Request, token: str) -> None:
    """A valid signed link for this very path, or the token in the Authorization header."""
    limits = request.app.get(RATE_LIMITS)
    if limits is not None and (wait_s := limits.operator_failures.waiting(client_key(request))):
        raise too_many(wait_s, "Too many wrong operator credentials from this client; wait and try again.")
    if carries_link(request):
        if not link_valid(request, request.app[LINK_KEY]):
            raise _refuse(request, "link_not_valid", "This link has expired or was not signed here.")
        return
    if "token" in request.query:
        raise _refuse(
            request,
            "token_in_query",
            "The operator token goes only in the Authorization header (a URL ends up in logs and history).",
        )
    if token and not hmac.compare_digest(given_token(request).encode(), token.encode()):
        raise _refuse(request, "unauthorized", "An operator token is required (Authorization: Bearer ...).")


def require_operator(request: web.Request) -> None:
    """Let an operator through, or raise ApiError.

    403 `host_not_allowed`: the Host or Origin is not on the allow-list (a page of another domain).
    With AGENT_OPERATOR_TOKEN set, every client needs it in the Authorization header, or a signed link for
    the path (401 otherwise; 429 after too many failures), in every environment. Without one (development
    only: production refuses to start), a client on loopback is let in and any other gets 403.
    """
    if not host_allowed(request):
        raise ApiError(
            403, "host_not_allowed", "This host name or origin may not use the operator endpoints."
        )
    server = request.app[SETTINGS].server
    token = server.operator_token.get_secret_value() if server.operator_token else ""
    if token or carries_link(request) or "token" in request.query:
        _check_credentials(request, token)
        return
    if not client_on_loopback(request):
        raise ApiError(
            403, "operator_token_not_set", "Set AGENT_OPERATOR_TOKEN to open the operator endpoints."
        )
