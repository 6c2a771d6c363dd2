"""The LLM brain's client: intent routing and booking extraction over any OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, Final

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import SecretStr, ValidationError

from agent.dialog.llm_parsing import (
    INTENTS,
    BookingExtraction,
    LlmOutputError,
    RouteDecision,
    extract_json_object,
    parse_booking_text,
    parse_route_text,
    tool_arguments,
)

__all__ = ["BookingExtraction", "LlmClient", "LlmUnavailable", "RouteDecision"]

ROUTE_TOOL: Final = "route"
BOOKING_TOOL: Final = "update_booking"
ROUTE_MAX_TOKENS: Final = 40
BOOKING_MAX_TOKENS: Final = 120
HISTORY_TURNS: Final = 6
TURN_CHARS: Final = 300

# One system prompt and one tool list shared by both calls, identical on every request: llama.cpp then
# reuses the evaluated prefix, and when route and extract_booking follow each other on the same
# utterance, the second call only evaluates the few tokens naming its function.
SYSTEM_PROMPT: Final = """\
You are the language-understanding step of a car dealership's phone assistant. You never talk to the \
caller: you call one function about the caller's latest utterance.

route: the intent of the latest utterance (read the conversation state for short answers).
greeting: "hello", "hi there"
faq: a question about the dealership: "what are your hours?", "where are you located?", "do you offer financing?"
inventory: cars for sale: "any used Hondas?", "how much is the Camry?"
book_service: wants a service or repair appointment: "I need an oil change"
book_test_drive: wants to test drive a car: "can I test drive the RAV4?"
cancel: cancel an existing appointment
reschedule: move an existing appointment to another day or time
escalation: wants a human: "can I talk to a person", "get me a manager", or is upset
affirm: "yes", "correct", "that works"
deny: "no", "that's wrong"
provide_info: answers a question with a name, phone number, email, day or time
goodbye: "bye", "that's all"
thanks: "thank you"
unknown: anything else

update_booking: the booking details said in the latest utterance, copied word for word; null for every field \
it does not mention. appointment_type: "service" or "test_drive"; service: the work wanted; vehicle: the car \
to test drive; date_text: the day and time; name, phone, email: the caller's; confirm: "yes" or "no" only \
when answering a confirmation question.
Example: "it's Maria, 312 555 0199" -> {"appointment_type": null, "service": null, "vehicle": null, \
"date_text": null, "name": "Maria", "phone": "312 555 0199", "email": null, "confirm": null}"""

_TEXT: Final = {"type": ["string", "null"]}
_BOOKING_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "appointment_type": {"enum": ["service", "test_drive", None]},
    "service": _TEXT,
    "vehicle": _TEXT,
    "date_text": _TEXT,
    "name": _TEXT,
    "phone": _TEXT,
    "email": _TEXT,
    "confirm": {"enum": ["yes", "no", None]},
}
# Every booking field is required but nullable: with optional fields, small models under a JSON grammar
# skip the wrong keys or invent values; writing each key (null when unsaid) keeps them on track.
TOOLS: Final[list[dict[str, Any]]] = [
    {
        "type": "function",
        "function": {
            "name": ROUTE_TOOL,
            "description": "Classify the caller's latest utterance.",
            "parameters": {
                "type": "object",
                "properties": {
                    "intent": {"type": "string", "enum": list(INTENTS)},
                    "confidence": {"type": "number"},
                },
                "required": ["intent", "confidence"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": BOOKING_TOOL,
            "description": "Record booking details from the caller's latest utterance.",
            "parameters": {
                "type": "object",
                "properties": _BOOKING_FIELDS,
                "required": list(_BOOKING_FIELDS),
            },
        },
    },
]
# Sampling options only llama.cpp understands (OpenAI itself rejects unknown fields), sent to loopback
# endpoints only. Its default repeat_penalty of 1.1 pushes a model away from the repeated `null`s and
# quotes that JSON arguments are made of.
LLAMA_CPP_OPTIONS: Final[dict[str, Any]] = {"repeat_penalty": 1.0}
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class LlmUnavailable(Exception):
    """The LLM could not answer usefully (timeout, refused connection, unreadable output)."""


def render_user_message(utterance: str, history: Sequence[tuple[str, str]], context: str) -> str:
    """The variable part of the prompt: state, the last few turns, then the utterance itself."""
    lines = [f"Conversation state: {context.strip() or 'new call'}"]
    recent = list(history)[-HISTORY_TURNS:]
    if recent:
        lines.append("Recent turns:")
        for role, text in recent:
            speaker = "Agent" if role == "agent" else "Caller"
            lines.append(f"{speaker}: {' '.join(text.split())[:TURN_CHARS]}")
    lines.append(f"Caller's latest utterance: {' '.join(utterance.split())[:TURN_CHARS]}")
    return "\n".join(lines)


def _raw_arguments(message: AIMessage, tool_name: str) -> dict[str, Any] | None:
    """The called tool's arguments from tool_calls, or from malformed ones; None when there are none."""
    for call in message.tool_calls:
        if call["name"] == tool_name:
            return call["args"]
    for bad in message.invalid_tool_calls:
        if bad.get("name") in (tool_name, None) and bad.get("args"):
            obj = extract_json_object(str(bad["args"]))
            if obj is not None:
                return tool_arguments(obj, tool_name)
    return None


class LlmClient:
    """Routes utterances and extracts booking details with an OpenAI-compatible chat model."""

    def __init__(
        self, *, base_url: str, model: str, api_key: str, timeout_s: float, temperature: float = 0.0
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._closed = False
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)))
        chat = ChatOpenAI(
            model=model,
            base_url=self._base_url,
            api_key=SecretStr(api_key),
            temperature=temperature,
            timeout=timeout_s,
            max_retries=0,
            http_async_client=self._http,
        )
        # `max_tokens` goes in the body as such: ChatOpenAI would rename it to max_completion_tokens,
        # which llama.cpp's server ignores.
        extras = LLAMA_CPP_OPTIONS if httpx.URL(self._base_url).host in _LOOPBACK_HOSTS else {}
        self._route: Runnable[Any, BaseMessage] = chat.bind_tools(TOOLS, tool_choice=ROUTE_TOOL).bind(
            extra_body={"max_tokens": ROUTE_MAX_TOKENS, **extras}
        )
        self._booking: Runnable[Any, BaseMessage] = chat.bind_tools(TOOLS, tool_choice=BOOKING_TOOL).bind(
            extra_body={"max_tokens": BOOKING_MAX_TOKENS, **extras}
        )

    async def route(self, utterance: str, history: Sequence[tuple[str, str]], context: str) -> RouteDecision:
        """The intent of the caller's latest utterance."""
        message = await self._ask(self._route, utterance, history, context, self._timeout_s)
        try:
            args = _raw_arguments(message, ROUTE_TOOL)
            if args is not None and "intent" in args:
                return RouteDecision.model_validate(args)
            return parse_route_text(_content_text(message))
        except (LlmOutputError, ValidationError) as exc:
            raise LlmUnavailable(f"unreadable routing output from the LLM: {exc}") from exc

    async def extract_booking(
        self, utterance: str, history: Sequence[tuple[str, str]], context: str
    ) -> BookingExtraction:
        """The booking details the caller gave in the latest utterance (None for what was not said)."""
        message = await self._ask(self._booking, utterance, history, context, self._timeout_s)
        try:
            args = _raw_arguments(message, BOOKING_TOOL)
            if args is not None:
                return BookingExtraction.model_validate(args)
            return parse_booking_text(_content_text(message), BOOKING_TOOL)
        except (LlmOutputError, ValidationError) as exc:
            raise LlmUnavailable(f"unreadable booking output from the LLM: {exc}") from exc

    async def warm_up(self, timeout_s: float = 300.0) -> bool:
        """Have the server evaluate the shared prompt prefix once (tens of seconds on 2 cores), so later
        calls only pay for their own tokens; call it at startup. False when the LLM did not answer."""
        try:
            await self._ask(self._route.bind(timeout=timeout_s), "hello", [], "new call", timeout_s)
        except LlmUnavailable:
            return False
        return True

    async def healthy(self) -> bool:
        """True when the endpoint answers GET /models."""
        if self._closed:
            return False
        try:
            response = await self._http.get(
                f"{self._base_url}/models",
                headers={"Authorization": f"Bearer {self._api_key}"},
                timeout=min(self._timeout_s, 3.0),
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        """Close the HTTP connections; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        await self._http.aclose()

    async def _ask(
        self,
        runnable: Runnable[Any, BaseMessage],
        utterance: str,
        history: Sequence[tuple[str, str]],
        context: str,
        timeout_s: float,
    ) -> AIMessage:
        if self._closed:
            raise LlmUnavailable("the LLM client is closed")
        messages = [
            SystemMessage(SYSTEM_PROMPT),
            HumanMessage(render_user_message(utterance, history, context)),
        ]
        try:
            async with asyncio.timeout(timeout_s + 1.0):
                reply = await runnable.ainvoke(messages)
        except TimeoutError as exc:
            raise LlmUnavailable(f"the LLM at {self._base_url} did not answer in {timeout_s:g} s") from exc
        except openai.APITimeoutError as exc:
            raise LlmUnavailable(f"the LLM at {self._base_url} timed out: {exc}") from exc
        except openai.APIConnectionError as exc:
            raise LlmUnavailable(f"cannot reach the LLM at {self._base_url}: {exc}") from exc
        except openai.APIStatusError as exc:
            raise LlmUnavailable(f"the LLM at {self._base_url} answered HTTP {exc.status_code}") from exc
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
            raise LlmUnavailable(f"the LLM call failed: {exc}") from exc
        if not isinstance(reply, AIMessage):
            raise LlmUnavailable(f"unexpected LLM reply type {type(reply).__name__}")
        return reply


def _content_text(message: AIMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return json.dumps(content)
