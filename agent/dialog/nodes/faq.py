"""The FAQ node: answers questions from the FAQ table, the service menu and the live inventory."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.dialog.booking_slots import QUESTIONS
from agent.dialog.brain import Brain
from agent.dialog.nlu.faq_index import FAQ_MIN_SCORE
from agent.dialog.nlu.inventory_query import parse_inventory_query
from agent.dialog.nlu.moves import asks_to_wait
from agent.dialog.nlu.services import match_service
from agent.dialog.nodes.slot_offers import SlotOffers
from agent.dialog.speech_format import say_list, say_price, say_price_range
from agent.dialog.state import ConversationState, OfferKind, PendingOffer, SideRequest
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import last_caller_text
from agent.store.models import InventoryVehicle

_PRICE_OR_DURATION = re.compile(r"\b(how much|price|cost|charge|fee|how long|take)\b", re.I)
_SERVICE_MENU = re.compile(r"\b(what|which) (services|kind of service|work)\b|\bservices do you\b", re.I)
_HELP = "I can answer questions, check our inventory, or book a service visit or a test drive."
_ANYTHING_ELSE = "Is there anything else I can help with?"


def _car(vehicle: InventoryVehicle) -> str:
    condition = "new" if vehicle.is_new else "used"
    trim = f" {vehicle.trim}" if vehicle.trim else ""
    return (
        f"a {condition} {vehicle.color.lower()} {vehicle.year} {vehicle.make} {vehicle.model}{trim} "
        f"for {say_price(vehicle.price)}"
    )


@dataclass(frozen=True)
class Answer:
    """An answer, the question it ends with (dropped when the booking resumes), and what a yes would mean."""

    body: str
    follow_up: str = ""
    offer: OfferKind | None = None
    service_type_id: int | None = None
    inventory_ids: tuple[int, ...] = ()
    ended: bool = False
    written_by: str = "templates"  # our templates and the FAQ table, or the llm (from the dealership's data)

    def said(self) -> str:
        return f"{self.body} {self.follow_up}".strip()


class FaqTurn:
    def __init__(self, tools: DealershipTools, dealership_name: str, brain: Brain | None = None) -> None:
        self.tools = tools
        self.dealership_name = dealership_name
        self.brain = brain

    async def answer(self, state: ConversationState, text: str) -> Answer:
        """The reply to a question, a thank-you, a goodbye, or a yes/no to the agent's last offer."""
        intent = state.detected_intent
        offer = state.live_offer()
        if intent == "goodbye":
            return Answer(
                f"Thanks for calling {self.dealership_name}. Have a great day, goodbye!", ended=True
            )
        if intent == "thanks":
            return Answer("You're welcome!", _ANYTHING_ELSE, offer="anything_else")
        if intent == "repeat":
            return Answer(
                state.last_reply or f"Thanks for calling {self.dealership_name}. How can I help you?"
            )
        if intent == "hold":
            return Answer("Sure, take your time." if asks_to_wait(text) else "Sure, go ahead.")
        if intent == "affirm" and (offer is None or offer.kind == "anything_else"):
            return Answer("Sure, what can I help you with?")
        if intent == "deny":
            return Answer("No problem.", _ANYTHING_ELSE, offer="anything_else")
        if intent == "greeting" and state.turn_count == 0 and len(text.split()) <= 4:
            return Answer(f"Hi, thanks for calling {self.dealership_name}. How can I help you today?")
        questions = [r for r in state.side_requests if r.intent in ("faq", "inventory")]
        if len(questions) >= 2:
            answers = [a for a in [await self._one(r.intent, r.text) for r in questions] if a is not None]
            if answers:
                bodies = " ".join(dict.fromkeys(a.body for a in answers))
                last = answers[-1]
                return Answer(bodies, last.follow_up, last.offer, last.service_type_id, last.inventory_ids)
        found = await self._one(intent, text)
        if found is not None:
            return found
        if intent in ("faq", "unknown") and self.brain is not None:
            written = await self.brain.answer_question(text, state)
            if written:
                return Answer(written, _ANYTHING_ELSE, offer="anything_else", written_by="llm")
        if intent == "greeting":
            return Answer(f"Hi there! {_HELP} What can I do for you?")
        return Answer(f"Sorry, I'm not sure about that one. {_HELP} Or I can connect you with a person.")

    async def side_answer(self, request: SideRequest) -> str:
        """The answer to a question asked beside another request, without its follow-up question."""
        found = await self._one(request.intent, request.text)
        return found.body if found is not None else ""

    async def _one(self, intent: str, text: str) -> Answer | None:
        if intent == "inventory":
            return await self._inventory(text)
        menu_answer = self._service_menu(text)
        if menu_answer is not None:
            return menu_answer
        hits = await self.tools.search_faq(text, 1)
        if hits and hits[0][1] >= FAQ_MIN_SCORE:
            return Answer(hits[0][0].answer)
        return None

    def _service_menu(self, text: str) -> Answer | None:
        services = self.tools.knowledge.services
        if _SERVICE_MENU.search(text):
            names = [s.name.lower() for s in services[:6]]
            return Answer(
                f"We do all regular maintenance and repairs, like {say_list(names)}.",
                "What does your car need?",
            )
        if not _PRICE_OR_DURATION.search(text):
            return None
        matched = match_service(text, services)
        if matched is None:
            return None
        service = matched[0]
        return Answer(
            f"{service.name} usually costs {say_price_range(service.price_min, service.price_max)}, "
            f"and takes about {service.duration_min} minutes.",
            "Would you like to book one?",
            offer="book_service",
            service_type_id=service.id,
        )

    async def _inventory(self, text: str) -> Answer:
        knowledge = self.tools.knowledge
        query = parse_inventory_query(
            text, known_makes=knowledge.makes, known_models=knowledge.models, known_colors=knowledge.colors
        )
        cars = await self.tools.search_inventory(query, limit=3)
        if not cars:
            return Answer(
                "I don't see a car like that on the lot right now.",
                "Is there another make or model I can check for you?",
            )
        listing = say_list([_car(v) for v in cars])
        lead = "We have" if len(cars) > 1 else "We have one that fits:"
        ids = tuple(v.id for v in cars)
        return Answer(
            f"{lead} {listing}.", "Would you like to book a test drive?", "book_test_drive", None, ids
        )


def _back_to_booking(state: ConversationState, tools: DealershipTools) -> str:
    """The question the booking was waiting on, asked again after a question in between."""
    slots = state.booking_slots
    if slots.awaiting == "confirm":
        return "Shall I go ahead with that booking?"
    if slots.awaiting == "choice" and slots.offered_times:
        options = SlotOffers(tools).say_options([datetime.fromisoformat(m) for m in slots.offered_times])
        return f"I have {options}. Which works for you?"
    return QUESTIONS.get(slots.awaiting or "", "")


def make_faq_node(
    turn: FaqTurn, tools: DealershipTools
) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    async def faq(state: ConversationState) -> dict[str, Any]:
        found = await turn.answer(state, last_caller_text(state))
        slots = state.booking_slots
        reply = found.said()
        offer = None
        resumes = state.detected_intent not in ("repeat", "hold")
        if slots.is_active() and not found.ended and slots.awaiting and resumes:
            reply = f"{found.body} Now, back to your booking. {_back_to_booking(state, tools)}".strip()
        elif not resumes and state.live_offer() is not None:
            offer = state.live_offer()  # "sorry, what was that?" keeps the question it repeats open
            offer = offer.model_copy(update={"asked_at_turn": state.turn_count}) if offer else None
        elif found.offer is not None:
            offer = PendingOffer(
                kind=found.offer,
                asked_at_turn=state.turn_count,
                service_type_id=found.service_type_id,
                inventory_ids=list(found.inventory_ids),
            )
        return {
            "draft_reply": reply,
            "ended": found.ended,
            "current_agent": "faq",
            "pending_offer": offer,
            "reply_by": found.written_by,
        }

    return faq
