"""Lenient parsing of small-LLM JSON output into the dialog's understanding and answer models (pure, no I/O)."""

from __future__ import annotations

import ast
import html
import json
import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, model_validator

from agent.dialog.nlu.intents import RULE_ONLY_INTENTS, Intent

# In declaration order; the rule-only moves are found before the model is asked, so it never chooses them.
INTENTS: tuple[str, ...] = tuple(i for i in get_args(Intent) if i not in RULE_ONLY_INTENTS)

# Words small models use instead of our intent names.
_INTENT_ALIASES: dict[str, str] = {
    "greet": "greeting",
    "hello": "greeting",
    "question": "faq",
    "hours": "faq",
    "info": "faq",
    "information": "faq",
    "inventory_search": "inventory",
    "search_inventory": "inventory",
    "book": "book_service",
    "service": "book_service",
    "booking": "book_service",
    "book_appointment": "book_service",
    "schedule_service": "book_service",
    "test_drive": "book_test_drive",
    "book_testdrive": "book_test_drive",
    "schedule_test_drive": "book_test_drive",
    "cancellation": "cancel",
    "cancel_appointment": "cancel",
    "reschedule_appointment": "reschedule",
    "escalate": "escalation",
    "human": "escalation",
    "transfer": "escalation",
    "yes": "affirm",
    "confirm": "affirm",
    "affirmation": "affirm",
    "no": "deny",
    "negation": "deny",
    "inform": "provide_info",
    "bye": "goodbye",
    "thank_you": "thanks",
    "thankyou": "thanks",
}
_NULLISH = frozenset({"", "null", "none", "n/a", "na", "unknown", "not provided", "not mentioned", "nil"})
_YES = frozenset(
    {"yes", "y", "true", "yeah", "yep", "correct", "confirm", "confirmed", "affirm", "ok", "okay"}
)
_NO = frozenset({"no", "n", "false", "nope", "deny", "denied", "incorrect", "cancel"})
_FENCE = re.compile(r"```(?:json|JSON|python)?")
_TAGS = re.compile(r"</?(?:tool_call|tool_calls|function_call|json|response|output)>")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


class LlmOutputError(ValueError):
    """The model's output held nothing we could read."""


class BookingExtraction(BaseModel):
    """What the caller said in this one utterance towards a booking; None where they said nothing."""

    model_config = ConfigDict(extra="ignore")

    appointment_type: Literal["service", "test_drive"] | None = None
    service: str | None = None  # the caller's words for the service, e.g. "oil change"
    vehicle: str | None = None  # the car asked for a test drive, in the caller's words
    date_text: str | None = None  # the caller's words for the day/time, e.g. "next Tuesday at 10 am"
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    confirm: Literal["yes", "no"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _lenient(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {name: clean_text(data.get(name)) for name in cls.model_fields}
        out["appointment_type"] = _appointment_type(out["appointment_type"])
        out["confirm"] = _yes_no(data.get("confirm"))
        return out


class Understanding(BaseModel):
    """One UNDERSTAND answer: the intent of the latest utterance and the details copied from it."""

    model_config = ConfigDict(extra="ignore")

    intent: Intent = "unknown"
    service: str | None = None  # a service's menu name, or the caller's words for it
    vehicle: str | None = None
    when: str | None = None  # the caller's words for the day and time
    name: str | None = None
    phone: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _lenient(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {name: clean_text(data.get(name)) for name in cls.model_fields}
        out["intent"] = normalize_intent(data.get("intent"))
        return out

    def booking(self) -> BookingExtraction:
        """The details as a booking extraction (the type of appointment follows from the intent)."""
        kind = {"book_service": "service", "book_test_drive": "test_drive"}.get(self.intent)
        confirm = {"affirm": "yes", "deny": "no"}.get(self.intent)
        return BookingExtraction.model_validate(
            {
                "appointment_type": kind,
                "service": self.service,
                "vehicle": self.vehicle,
                "date_text": self.when,
                "name": self.name,
                "phone": self.phone,
                "confirm": confirm,
            }
        )


class SpokenAnswer(BaseModel):
    """One ANSWER: the fact line it rests on and a short reply; known=False when no fact holds the answer."""

    known: bool = False
    fact: str | None = None
    reply: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _lenient(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fact, reply = clean_text(data.get("fact")), clean_text(data.get("reply"))
        known = reply is not None and not any(_not_known(value) for value in (fact, reply))
        return {
            "known": known and data.get("known") is not False,
            "fact": fact if known else None,
            "reply": reply if known else None,
        }


def _not_known(value: str | None) -> bool:
    return value is not None and "NOT_IN_FACTS" in value.upper().replace(" ", "_")


def parse_json_answer(text: str) -> dict[str, Any]:
    """The JSON object a model wrote under a response format (lenient: fences, prose, trailing commas)."""
    obj = extract_json_object(text)
    if obj is None:
        raise LlmOutputError(f"no JSON object in model output: {text[:200]!r}")
    return obj


def clean_text(value: Any) -> str | None:
    """A stripped string, or None for missing / "null" / "none" / empty values."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    # html.unescape: llama-cpp-python's function-calling template HTML-escapes the prompt ("I&#39;d"),
    # and small models copy the escapes into their answers.
    text = html.unescape(str(value)).strip().strip("\"'").strip()
    return None if text.lower() in _NULLISH else text


def normalize_intent(value: Any) -> str:
    """Map a model's intent label onto our Intent literal; anything unrecognised becomes "unknown"."""
    if not isinstance(value, str):
        return "unknown"
    key = re.sub(r"[\s\-]+", "_", value.strip().strip("\"'").lower())
    if key in INTENTS:
        return key
    return _INTENT_ALIASES.get(key, "unknown")


def _appointment_type(value: str | None) -> str | None:
    if value is None:
        return None
    key = re.sub(r"[\s\-]+", "_", value.lower())
    if "test" in key or "drive" in key:
        return "test_drive"
    if "service" in key or "repair" in key or "maintenance" in key:
        return "service"
    return None


def _yes_no(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = clean_text(value)
    if text is None:
        return None
    key = text.lower().rstrip(".!")
    if key in _YES:
        return "yes"
    if key in _NO:
        return "no"
    return None


def _balanced_objects(text: str) -> list[str]:
    """Every top-level {...} span in text, honouring quoted strings (either quote style)."""
    spans: list[str] = []
    depth, start, quote, escaped = 0, -1, "", False
    for index, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'" and depth > 0:
            quote = char
        elif char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : index + 1])
    return spans


def _loads(candidate: str) -> dict[str, Any] | None:
    for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
        try:
            value = json.loads(attempt)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    # Single-quoted, Python-style dicts: evaluate as a literal (never as code).
    pythonish = re.sub(
        r"\bnull\b", "None", re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", candidate))
    )
    try:
        value = ast.literal_eval(_TRAILING_COMMA.sub(r"\1", pythonish))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in text that parses, ignoring code fences, <tool_call> tags and prose."""
    cleaned = _TAGS.sub(" ", _FENCE.sub(" ", text))
    for candidate in _balanced_objects(cleaned):
        parsed = _loads(candidate)
        if parsed is not None:
            return parsed
    return None
