"""The router node: classify the caller's turn and choose faq, booking or escalation."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from agent.dialog.brain import Brain, Routing
from agent.dialog.nlu.faq_index import FAQ_MIN_SCORE
from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import last_caller_text
from agent.log import get_logger

log = get_logger(__name__)

Route = Literal["faq", "booking", "escalation"]
_BOOKING = {"book_service", "book_test_drive", "cancel", "reschedule"}
_FOLLOW_BOOKING = {"provide_info", "affirm", "deny", "unknown"}


_QUESTION = re.compile(
    r"^\s*(what|where|when|how|why|which|who|do you|does|is there|are there|is it|are you|can you tell)\b",
    re.I,
)
_BOOKING_VERB = re.compile(
    r"\b(book|schedule|set up|make an appointment|reserve|sign me up|come in|bring (it|my car) in)\b", re.I
)


async def _question_not_booking(text: str, routing: Routing, tools: DealershipTools) -> Routing:
    """ "What do I need to bring for a test drive?" asks about test drives; it does not book one."""
    if routing.intent not in ("book_service", "book_test_drive"):
        return routing
    if not _QUESTION.search(text) or _BOOKING_VERB.search(text):
        return routing
    hits = await tools.search_faq(text, 1)
    if hits and hits[0][1] >= FAQ_MIN_SCORE:
        return Routing("faq", max(routing.confidence, hits[0][1]), routing.source)
    return routing


def make_router_node(
    brain: Brain, tools: DealershipTools
) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    async def router(state: ConversationState) -> dict[str, Any]:
        text = last_caller_text(state)
        routing = await _question_not_booking(text, await brain.route(text, state), tools)
        log.info(
            "routed", intent=routing.intent, confidence=round(routing.confidence, 3), brain=routing.source
        )
        return {
            "detected_intent": routing.intent,
            "confidence": routing.confidence,
            "current_agent": "router",
            "understood_by": routing.source,
        }

    return router


def choose_route(state: ConversationState) -> Route:
    """The router's exits; a booking in progress keeps follow-up answers ("yes", "Tuesday") in booking."""
    intent = state.detected_intent
    if intent == "escalation":
        return "escalation"
    if intent in _BOOKING:
        return "booking"
    if intent in _FOLLOW_BOOKING and state.booking_slots.is_active():
        return "booking"
    if intent == "provide_info" and not state.booking_slots.is_active():
        return "booking"
    return "faq"
