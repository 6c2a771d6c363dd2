"""The LLM brain's client: one JSON-constrained request per question, over any OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final, Literal, TypeVar

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, SecretStr, ValidationError

from agent import metrics
from agent.dialog.llm_parsing import (
    BookingExtraction,
    LlmOutputError,
    SpokenAnswer,
    Understanding,
    parse_json_answer,
)
from agent.dialog.llm_prompt import ANSWER_SCHEMA, answer_message, understand_message

__all__ = [
    "BookingExtraction",
    "LlmClient",
    "LlmUnavailable",
    "SpokenAnswer",
    "Understanding",
]

UNDERSTAND_MAX_TOKENS: Final = 60
ANSWER_MAX_TOKENS: Final = 120
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
Task = Literal["understand", "answer"]
Parsed = TypeVar("Parsed", bound=BaseModel)


class LlmUnavailable(Exception):
    """The LLM could not answer usefully; `reason` is a short label for the fallback metric."""

    def __init__(self, message: str, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


def response_format(schema: dict[str, Any], *, llama_cpp: bool) -> dict[str, Any]:
    """The output constraint: llama.cpp's server takes the schema inside `json_object` and compiles it to
    a grammar; OpenAI and servers like it (vLLM, Ollama) take the `json_schema` form."""
    if llama_cpp:
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}


class LlmClient:
    """Understands one utterance, or answers one question from the dealership's facts, per request.

    Every request starts with the same system prompt (instructions + facts), so the server keeps that
    prefix evaluated; only the short user message and the few JSON tokens of the answer cost time."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str,
        timeout_s: float,
        system_prompt: str,
        understand_schema: dict[str, Any],
        temperature: float = 0.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._system = system_prompt
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
        local = httpx.URL(self._base_url).host in _LOOPBACK_HOSTS
        # llama.cpp's own sampling option (OpenAI rejects unknown fields): its default repeat penalty of
        # 1.1 pushes a model away from the quotes and braces JSON is made of. `max_tokens` goes in the
        # body as such: ChatOpenAI would rename it to max_completion_tokens, which llama.cpp ignores.
        extras: dict[str, Any] = {"repeat_penalty": 1.0} if local else {}
        self._understand: Runnable[Any, BaseMessage] = chat.bind(
            extra_body={
                "max_tokens": UNDERSTAND_MAX_TOKENS,
                "response_format": response_format(understand_schema, llama_cpp=local),
                **extras,
            }
        )
        self._answer: Runnable[Any, BaseMessage] = chat.bind(
            extra_body={
                "max_tokens": ANSWER_MAX_TOKENS,
                "response_format": response_format(ANSWER_SCHEMA, llama_cpp=local),
                **extras,
            }
        )

    async def understand(self, utterance: str, agent_said: str, context: str) -> Understanding:
        """The intent of the caller's latest utterance and the booking details copied from it."""
        message = understand_message(utterance, agent_said, context)
        return await self._ask("understand", self._understand, message, Understanding, self._timeout_s)

    async def answer(self, question: str) -> SpokenAnswer:
        """A short spoken answer from the facts, or known=False when the facts do not hold one."""
        return await self._ask(
            "answer", self._answer, answer_message(question), SpokenAnswer, self._timeout_s
        )

    async def warm_up(self, timeout_s: float = 300.0) -> bool:
        """Have the server evaluate the shared prompt prefix once (a minute on 2 cores) at start-up, so
        callers' turns only pay for their own tokens. False when the LLM did not answer."""
        try:
            await self._ask(
                "understand",
                self._understand.bind(timeout=timeout_s),
                understand_message("hello", "", "new call"),
                Understanding,
                timeout_s,
            )
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
        task: Task,
        runnable: Runnable[Any, BaseMessage],
        user_message: str,
        model: type[Parsed],
        timeout_s: float,
    ) -> Parsed:
        if self._closed:
            raise LlmUnavailable("the LLM client is closed", "closed")
        messages = [SystemMessage(self._system), HumanMessage(user_message)]
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s + 1.0):
                reply = await runnable.ainvoke(messages)
        except (TimeoutError, openai.APITimeoutError) as exc:
            raise LlmUnavailable(
                f"the LLM at {self._base_url} did not answer in {timeout_s:g} s", "timeout"
            ) from exc
        except openai.APIConnectionError as exc:
            raise LlmUnavailable(f"cannot reach the LLM at {self._base_url}: {exc}", "unreachable") from exc
        except openai.APIStatusError as exc:
            raise LlmUnavailable(
                f"the LLM at {self._base_url} answered HTTP {exc.status_code}", "http_error"
            ) from exc
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
            raise LlmUnavailable(f"the LLM call failed: {exc}", "error") from exc
        finally:
            metrics.llm_call(task, time.perf_counter() - started)
        if not isinstance(reply, AIMessage) or not isinstance(reply.content, str):
            raise LlmUnavailable(f"unexpected LLM reply {type(reply).__name__}", "unreadable")
        try:
            return model.model_validate(parse_json_answer(reply.content))
        except (LlmOutputError, ValidationError) as exc:
            raise LlmUnavailable(f"unreadable {task} output from the LLM: {exc}", "unreadable") from exc
