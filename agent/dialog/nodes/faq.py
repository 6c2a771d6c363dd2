"""The FAQ node: answers questions from the FAQ table, the service menu and the live inventory."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from agent.dialog.booking_slots import QUESTIONS
from agent.dialog.nlu.faq_index import FAQ_MIN_SCORE
from agent.dialog.nlu.inventory_query import parse_inventory_query
from agent.dialog.nlu.services import match_service
from agent.dialog.speech_format import say_list, say_price, say_price_range
from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import last_caller_text
from agent.store.models import InventoryVehicle

_PRICE_OR_DURATION = re.compile(r"\b(how much|price|cost|charge|fee|how long|take)\b", re.I)
_SERVICE_MENU = re.compile(r"\b(what|which) (services|kind of service|work)\b|\bservices do you\b", re.I)
_HELP = "I can answer questions, check our inventory, or book a service visit or a test drive."


def _car(vehicle: InventoryVehicle) -> str:
    condition = "new" if vehicle.is_new else "used"
    trim = f" {vehicle.trim}" if vehicle.trim else ""
    return (
        f"a {condition} {vehicle.color.lower()} {vehicle.year} {vehicle.make} {vehicle.model}{trim} "
        f"for {say_price(vehicle.price)}"
    )


class FaqTurn:
    def __init__(self, tools: DealershipTools, dealership_name: str) -> None:
        self.tools = tools
        self.dealership_name = dealership_name

    async def answer(self, state: ConversationState, text: str) -> tuple[str, bool]:
        """The reply and whether the conversation is over."""
        intent = state.detected_intent
        if intent == "goodbye":
            return f"Thanks for calling {self.dealership_name}. Have a great day, goodbye!", True
        if intent == "thanks":
            return "You're welcome! Is there anything else I can help with?", False
        if intent == "greeting" and state.turn_count == 0 and len(text.split()) <= 4:
            return f"Hi, thanks for calling {self.dealership_name}. How can I help you today?", False
        if intent == "inventory":
            return await self._inventory(text), False
        menu_answer = await self._service_menu(text)
        if menu_answer:
            return menu_answer, False
        hits = await self.tools.search_faq(text, 1)
        if hits and hits[0][1] >= FAQ_MIN_SCORE:
            return hits[0][0].answer, False
        if intent == "greeting":
            return f"Hi there! {_HELP} What can I do for you?", False
        return f"Sorry, I'm not sure about that one. {_HELP} Or I can connect you with a person.", False

    async def _service_menu(self, text: str) -> str | None:
        services = self.tools.knowledge.services
        if _SERVICE_MENU.search(text):
            names = [s.name.lower() for s in services[:6]]
            return (
                f"We do all regular maintenance and repairs, like {say_list(names)}. What does your car need?"
            )
        if not _PRICE_OR_DURATION.search(text):
            return None
        matched = match_service(text, services)
        if matched is None:
            return None
        service = matched[0]
        return (
            f"{service.name} usually costs {say_price_range(service.price_min, service.price_max)}, "
            f"and takes about {service.duration_min} minutes. Would you like to book one?"
        )

    async def _inventory(self, text: str) -> str:
        knowledge = self.tools.knowledge
        query = parse_inventory_query(
            text, known_makes=knowledge.makes, known_models=knowledge.models, known_colors=knowledge.colors
        )
        cars = await self.tools.search_inventory(query, limit=3)
        if not cars:
            return (
                "I don't see a car like that on the lot right now. "
                "Is there another make or model I can check for you?"
            )
        listing = say_list([_car(v) for v in cars])
        lead = "We have" if len(cars) > 1 else "We have one that fits:"
        return f"{lead} {listing}. Would you like to book a test drive?"


def make_faq_node(
    tools: DealershipTools, dealership_name: str
) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    turn = FaqTurn(tools, dealership_name)

    async def faq(state: ConversationState) -> dict[str, Any]:
        reply, ended = await turn.answer(state, last_caller_text(state))
        slots = state.booking_slots
        if slots.is_active() and not ended and slots.awaiting:
            back = "Shall I go ahead with that booking?" if slots.awaiting == "confirm" else None
            back = back or QUESTIONS.get(slots.awaiting, "")
            reply = f"{reply} Now, back to your booking. {back}".strip()
        return {"draft_reply": reply, "ended": ended, "current_agent": "faq"}

    return faq
