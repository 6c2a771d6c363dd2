"""API errors as JSON: one exception type, and a middleware that never lets a stack trace reach a client."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from agent import metrics
from agent.log import bind_ids, clear_ids, get_logger
from agent.store.state_store import StateStoreUnavailable

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = web.RequestKey("request_id", str)
STATE_RETRY_AFTER_S = 5  # Redis is away and this process does not hold the session: soon back, or elsewhere
# A 429 or 503 that did not say when to come back (a busy line, /health while degraded) says this.
DEFAULT_RETRY_AFTER_S = {429: 1, 503: 10}
_REQUEST_ID_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: Any = None, *, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after_s = retry_after_s  # sent as Retry-After (a 429 or a 503)


def error_response(
    status: int, code: str, message: str, request_id: str, details: Any = None
) -> web.Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}, "request_id": request_id}
    if details is not None:
        body["error"]["details"] = details
    return web.json_response(body, status=status, headers={"X-Request-ID": request_id})


def _request_id(request: web.Request) -> str:
    given = request.headers.get("X-Request-ID", "")
    if 0 < len(given) <= 100 and set(given) <= _REQUEST_ID_OK:
        return given
    return uuid.uuid4().hex


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id (from X-Request-ID or new) to every log line, and turn errors into JSON."""
    request_id = _request_id(request)
    clear_ids()
    bind_ids(request_id=request_id)
    request[REQUEST_ID] = request_id
    response = await _answer(request, handler, request_id)
    if not response.prepared:
        response.headers["X-Request-ID"] = request_id
        if response.status in DEFAULT_RETRY_AFTER_S and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(DEFAULT_RETRY_AFTER_S[response.status])
    return response


async def _answer(request: web.Request, handler: Handler, request_id: str) -> web.StreamResponse:
    """The handler's response, or the JSON error for what it raised (never a stack trace)."""
    try:
        return await handler(request)
    except ApiError as exc:
        log.info("api_error", path=request.path, status=exc.status, code=exc.code)
        response = error_response(exc.status, exc.code, exc.message, request_id, exc.details)
        if exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except StateStoreUnavailable:
        log.warning("state_store_unavailable", path=request.path)
        response = error_response(
            503,
            "state_unavailable",
            "Conversations are briefly unavailable here; please try again in a few seconds.",
            request_id,
        )
        response.headers["Retry-After"] = str(STATE_RETRY_AFTER_S)
        return response
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "too_large", "The request body is too large.", request_id)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason, request_id)
        raise
    except Exception:
        metrics.error("http")
        log.exception("unhandled_error", path=request.path)
        return error_response(500, "internal_error", "Something went wrong on our side.", request_id)
