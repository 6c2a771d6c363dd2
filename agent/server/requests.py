"""Request bodies of the JSON API, validated with pydantic; bad input becomes a clear 4xx."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.server.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)
# No request of ours nests deeper than 3; anything past this is refused before it is looked at.
MAX_JSON_DEPTH = 32


class CreateSession(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str | None = Field(default=None, max_length=40)
    channel: str = Field(default="chat", pattern="^(chat|voice)$")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(min_length=1, max_length=100)
    message: str


class VoiceTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=80)


class JsonTooDeep(ValueError):
    """Lists and objects nested past MAX_JSON_DEPTH."""


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(raw: bytes | str) -> Any:
    """JSON text to a value; ValueError with a reason for invalid or too deeply nested text (a RecursionError
    of the decoder included: it must never become a 500)."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise JsonTooDeep(f"it nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise JsonTooDeep(f"it nests deeper than {MAX_JSON_DEPTH} levels")
    return data


def require_json_body(request: web.Request) -> None:
    """Only `application/json` (or `+json`) bodies: a form or text/plain body is what a page of another site
    can send without asking (a cross-site POST), so it is refused with 415."""
    kind = request.content_type
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Send a JSON object with Content-Type: application/json, not {kind}.",
        )


async def read_json(request: web.Request, model: type[Model], *, optional: bool = False) -> Model:
    """Parse and validate the body; every failure is an ApiError with a message a developer can act on.
    An empty body is allowed only when `optional`; any other must be labelled JSON."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return model()
        raise ApiError(400, "empty_body", "The request body is empty; send a JSON object.")
    require_json_body(request)
    try:
        data: Any = parse_json(raw)
    except JsonTooDeep as exc:
        raise ApiError(400, "json_too_deep", f"The body is not acceptable JSON: {exc}.") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "problem": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise ApiError(422, "invalid_fields", "Some fields are missing or wrong.", details=problems) from None
