"""Request bodies of the JSON API, validated with pydantic; bad input becomes a clear 4xx."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.server.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)


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


async def read_json(request: web.Request, model: type[Model], *, optional: bool = False) -> Model:
    """Parse and validate the body; every failure is an ApiError with a message a developer can act on."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return model()
        raise ApiError(400, "empty_body", "The request body is empty; send a JSON object.")
    try:
        data: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
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
