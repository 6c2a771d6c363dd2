"""The router node: classify the caller's turn and choose faq, booking or escalation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from agent.dialog.brain import Brain
from agent.dialog.state import ConversationState
from agent.dialog.transcript import last_caller_text
from agent.log import get_logger

log = get_logger(__name__)

Route = Literal["faq", "booking", "escalation"]
_BOOKING = {"book_service", "book_test_drive", "cancel", "reschedule"}
_FOLLOW_BOOKING = {"provide_info", "affirm", "deny", "unknown"}


def make_router_node(brain: Brain) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    async def router(state: ConversationState) -> dict[str, Any]:
        text = last_caller_text(state)
        routing = await brain.route(text, state)
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
