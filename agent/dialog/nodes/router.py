"""The router node: classify the caller's turn and choose faq, booking or escalation."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from agent.dialog.brain import Brain, Clause, Routing, SlotUpdate
from agent.dialog.nlu.confirmations import is_correction, parse_yes_no
from agent.dialog.nlu.faq_index import FAQ_MIN_SCORE
from agent.dialog.nlu.moves import conversation_move
from agent.dialog.state import ConversationState, SideRequest
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import last_caller_text
from agent.log import get_logger

log = get_logger(__name__)

Route = Literal["faq", "booking", "escalation"]
_BOOKING = {"book_service", "book_test_drive", "cancel", "reschedule"}
_CHANGES = {"cancel", "reschedule"}
_FOLLOW_BOOKING = {"provide_info", "affirm", "deny", "unknown"}
_QUESTIONS = {"faq", "inventory"}
_ANSWERS_TO_OFFER = {"affirm", "deny", "unknown", "thanks", "goodbye", "provide_info"}
_YES_NO_QUESTIONS = {"confirm", "caller_id"}
_KEEPS_ROUTE = _BOOKING | {"escalation", "goodbye", "affirm", "deny"}
_HELLO = re.compile(r"\b(hi|hello|hey|howdy|good (morning|afternoon|evening))\b", re.IGNORECASE)

_QUESTION = re.compile(
    r"^\s*(what|where|when|how|why|which|who|do you|does|is there|are there|is it|are you|can you tell)\b",
    re.I,
)
_BOOKING_VERB = re.compile(
    r"\b(book|schedule|set up|make an appointment|reserve|sign me up|come in|bring (it|my car) in"
    r"|fit (me|us|it|my car) in)\b",
    re.I,
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


def answer_to_offer(text: str, routing: Routing, state: ConversationState) -> Routing:
    """A yes or no to the agent's last question ("Would you like to book one?", "Anything else?")."""
    offer = state.live_offer()
    if offer is None or state.booking_slots.is_active() or routing.intent not in _ANSWERS_TO_OFFER:
        return routing
    answer = parse_yes_no(text, asked=True) if len(text.split()) <= 8 else None
    if answer is None and routing.intent in ("affirm", "deny"):
        answer = "yes" if routing.intent == "affirm" else "no"
    if answer is None:
        return routing
    if offer.kind == "anything_else":
        return Routing("goodbye" if answer == "no" else "affirm", 0.9, routing.source)
    return Routing(offer.kind if answer == "yes" else "deny", 0.9, routing.source)


def answer_to_booking_question(text: str, routing: Routing, state: ConversationState) -> Routing:
    """A short yes or no to the booking's own yes/no question (the read-back above all), as a recogniser
    writes it ("Yay!", "Corrector."), is that answer, whatever else the brain took it for (a greeting)."""
    slots = state.booking_slots
    if not slots.is_active() or slots.awaiting not in _YES_NO_QUESTIONS or routing.intent in _KEEPS_ROUTE:
        return routing
    if len(text.split()) > 4 or is_correction(text):
        return routing
    answer = parse_yes_no(text, asked=True)
    if answer is None and routing.intent == "greeting" and not _HELLO.search(text):
        # "Yyousa." for a "Yes." over the phone is no hello: not understood, so the call hears it again (base)
        return Routing("unknown", routing.confidence, routing.source)
    if answer is None:
        return routing
    return Routing("affirm" if answer == "yes" else "deny", max(routing.confidence, 0.9), routing.source)


def plan_requests(
    routing: Routing, clauses: list[Clause], state: ConversationState
) -> tuple[Routing, list[SideRequest], str | None]:
    """Several requests in one utterance: questions beside a booking are answered first, and the booking
    reads only its own words ("what are your Saturday hours, and can I book an oil change?"); two
    questions both get answers. Returns the routing, the side requests and the booking's words."""
    questions = [c for c in clauses if c.intent in _QUESTIONS and c.confidence >= 0.5]
    if not questions:
        return routing, [], None
    # Beside a clear question, a garbled one ("what are your sale, how your mom's Saturday") is asked too:
    # the FAQ search may still know it, and its day is no booking.
    garbled = [c for c in clauses if c.intent == "unknown" and _QUESTION.search(c.text)]
    rest = [c for c in clauses if c not in questions and c not in garbled]
    clear = questions[0].intent
    questions = [Clause(c.text, "faq", c.confidence) if c in garbled else c for c in clauses if c not in rest]
    side = [SideRequest(text=c.text, intent=c.intent) for c in questions]
    asked_booking = next((c for c in rest if c.intent in _BOOKING), None)
    follows = state.booking_slots.is_active() and routing.intent in _FOLLOW_BOOKING
    if rest and (routing.intent in _BOOKING or asked_booking is not None or follows):
        if routing.intent in _BOOKING or follows:
            intent = routing.intent
        else:
            unsure_change = asked_booking is not None and asked_booking.intent in _CHANGES
            if asked_booking is None or (unsure_change and asked_booking.confidence < 0.5):
                intent = "provide_info"  # a guess at "reschedule" from garbled words is no booking to change
            else:
                intent = asked_booking.intent
        return Routing(intent, routing.confidence, routing.source), side, " ".join(c.text for c in rest)
    if len(questions) >= 2:
        intent = routing.intent if routing.intent in _QUESTIONS else clear
        return Routing(intent, routing.confidence, routing.source), side, None
    return routing, [], None


def holds_booking_details(update: SlotUpdate) -> bool:
    """Words that only make sense towards a booking ("Friday at 2", "555 014 3344", "tire rotation")."""
    return any(
        value is not None
        for value in (update.service, update.day, update.time, update.day_range, update.phone, update.name)
    ) or (update.vehicle is not None and update.appointment_type == "test_drive")


def make_router_node(
    brain: Brain, tools: DealershipTools
) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    async def router(state: ConversationState) -> dict[str, Any]:
        text = last_caller_text(state)
        side: list[SideRequest] = []
        booking_text = None
        move = conversation_move(text)
        if move is not None:  # "can you repeat that?", "um, and": no brain needed, nothing to book
            routing = Routing(move, 0.95, brain.name)
        else:
            routing = await _question_not_booking(text, await brain.route(text, state), tools)
            routing = answer_to_offer(text, routing, state)
            routing = answer_to_booking_question(text, routing, state)
            routing, side, booking_text = plan_requests(routing, await brain.split_requests(text), state)
            idle = not state.booking_slots.is_active() and not side
            vague = routing.intent in ("unknown", "greeting", "affirm", "deny")
            # A fragment that names a day, a service or a number starts a booking; it is never "not sure".
            if idle and vague and holds_booking_details(await brain.details_heard(text, state)):
                routing = Routing("provide_info", 0.9, routing.source)
        log.info(
            "routed",
            intent=routing.intent,
            confidence=round(routing.confidence, 3),
            brain=routing.source,
            side_requests=len(side),
        )
        return {
            "detected_intent": routing.intent,
            "confidence": routing.confidence,
            "current_agent": "router",
            "understood_by": routing.source,
            "slots_found_by": {},
            "reply_by": "templates",
            "side_requests": side,
            "booking_text": booking_text,
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
