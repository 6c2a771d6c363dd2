"""The LLM brain: routing and booking extraction by an OpenAI-compatible model, values checked by our parsers."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

from agent.config import DialogSettings
from agent.dialog.brain import Brain, Clause, Routing, SlotUpdate
from agent.dialog.llm import BookingExtraction, LlmClient, LlmUnavailable
from agent.dialog.nlu.contacts import has_number_loop, parse_email, parse_phone
from agent.dialog.nlu.names import parse_name
from agent.dialog.nlu.services import match_service
from agent.dialog.slot_parsing import when_said
from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import recent_turns
from agent.dialog.vehicle_match import find_vehicle
from agent.log import get_logger

log = get_logger(__name__)


_ASKING = {
    "confirm": "a yes/no confirmation of the booking",
    "caller_id": "a yes/no: may we reach them at the number they are calling from",
    "choice": "which of the offered times they want",
    "change": "which detail of the booking to change",
    "code": "the confirmation code of their existing appointment",
    "detail": "the day or the service of their existing appointment (to show it is theirs)",
}


def describe_context(state: ConversationState) -> str:
    """One line telling the model where the conversation stands (what the agent just asked)."""
    slots = state.booking_slots
    if not slots.is_active():
        return "no booking in progress"
    known = {
        "type": slots.appointment_type,
        "service": slots.service_type,
        "vehicle": slots.vehicle,
        "date": slots.preferred_date,
        "time": slots.preferred_time,
        "name": slots.customer_name,
        "phone": slots.customer_phone,
    }
    said = ", ".join(f"{k}={v}" for k, v in known.items() if v)
    asking = _ASKING.get(slots.awaiting or "", slots.awaiting)
    return (
        f"{slots.action} in progress; agent just asked for: {asking or 'nothing'}; known: {said or 'nothing'}"
    )


def _said(value: str, utterance: str) -> bool:
    words = set(re.findall(r"[a-z']+", utterance.lower()))
    return all(word in words for word in re.findall(r"[a-z']+", value.lower()))


class LlmBrain(Brain):
    """Asks the model; anything it cannot answer (down, slow, unreadable) is answered by the offline brain."""

    name = "llm"

    def __init__(self, client: LlmClient, fallback: Brain, tools: DealershipTools) -> None:
        self._client = client
        self._fallback = fallback
        self._tools = tools
        self._warm_up: asyncio.Task[bool] | None = None
        self._last: tuple[tuple[str, int, str], SlotUpdate] | None = None

    def start_warm_up(self) -> None:
        """Evaluate the fixed prompt prefix now (30-50 s on 2 cores), not on the first caller's turn."""
        if self._warm_up is None:
            self._warm_up = asyncio.create_task(self._client.warm_up(), name="llm-warm-up")

    @classmethod
    def from_settings(cls, settings: DialogSettings, *, fallback: Brain, tools: DealershipTools) -> LlmBrain:
        client = LlmClient(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout_s=settings.llm_timeout_s,
            temperature=settings.llm_temperature,
        )
        return cls(client, fallback, tools)

    async def route(self, text: str, state: ConversationState) -> Routing:
        try:
            decision = await self._client.route(text, recent_turns(state), describe_context(state))
        except LlmUnavailable as exc:
            log.warning("llm_fallback", step="route", error=str(exc))
            return replace(await self._fallback.route(text, state), source="offline-fallback")
        return Routing(decision.intent, decision.confidence, source="llm")

    async def details_heard(self, text: str, state: ConversationState) -> SlotUpdate:
        # Only to tell a fragment from small talk: our parsers, no model call for "hi" or "yes".
        return await self._fallback.extract(text, state)

    async def split_requests(self, text: str) -> list[Clause]:
        # Which clause asks what is decided by our own classifier: fast, and one model call per turn at most.
        return await self._fallback.split_requests(text)

    async def extract(self, text: str, state: ConversationState) -> SlotUpdate:
        # The router (for a fragment) and the booking node may both ask about one utterance: one model call.
        key = (state.session_id, state.turn_count, text)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        update = await self._extract(text, state)
        self._last = (key, update)
        return update

    async def _extract(self, text: str, state: ConversationState) -> SlotUpdate:
        offline = await self._fallback.extract(text, state)
        try:
            extraction = await self._client.extract_booking(
                text, recent_turns(state), describe_context(state)
            )
        except LlmUnavailable as exc:
            log.warning("llm_fallback", step="extract", error=str(exc))
            return replace(offline, source="offline-fallback")
        update = self._normalise(extraction, state)
        # A small model garbles digits it copies ("555-1498-766") and files emails under phone, so phone
        # numbers and emails come from our parsers of the caller's own words when they find one. Choices
        # among offered times, confirmation codes, "what do you have?" and "I don't know my number" are not
        # in the model's tool schema at all. Where the caller corrected themselves in this utterance
        # ("Tuesday, no, Wednesday") our parsers' reading of the correction wins over the model's copy.
        # Anything else the model left out is filled from the parsers too (the model's values win).
        awaiting = state.booking_slots.awaiting
        if update.name and awaiting != "name" and not _said(update.name, text):
            # The model copies names from the conversation ("Hi Maria" -> "Maria"): only a name the caller
            # gave in this utterance, or gave when asked, may change the booking.
            update = replace(update, name=None)
        if update.vehicle_words and not _said(update.vehicle_words, text):
            # Likewise a car it copies from the agent's listing ("yes please" -> "Honda Fit").
            update = replace(update, vehicle=None, vehicle_words=None)
        update = replace(
            update,
            phone=offline.phone
            or (update.phone if awaiting == "phone" and not has_number_loop(text) else None),
            email=offline.email,
            correction=offline.correction,
            confirmation_code=offline.confirmation_code,
            choice_index=offline.choice_index,
            suggestions=offline.suggestions,
            number_unknown=offline.number_unknown,
            names_slot=offline.names_slot,
            name_part=offline.name_part,
            same_time=offline.same_time,
            same_day=offline.same_day,
        )
        if offline.correction:
            update = replace(
                update,
                day=offline.day or update.day,
                time=offline.time or update.time,
                name=offline.name or update.name,
                service=offline.service or update.service,
                vehicle=offline.vehicle or update.vehicle,
                vehicle_words=offline.vehicle_words or update.vehicle_words,
            )
        if offline.day_range is not None and offline.day is None:
            update = replace(update, day=None, day_range=offline.day_range)  # never a day picked for them
        return replace(update.merged_with(offline), source="llm")

    def _normalise(self, extraction: BookingExtraction, state: ConversationState) -> SlotUpdate:
        """The model copies the caller's words; our parsers turn them into dates, numbers and database rows."""
        knowledge = self._tools.knowledge
        when = when_said(extraction.date_text, self._tools.now()) if extraction.date_text else None
        service = match_service(extraction.service, knowledge.services) if extraction.service else None
        vehicle = find_vehicle(extraction.vehicle, knowledge.inventory) if extraction.vehicle else None
        name = None
        if extraction.name:
            name = parse_name(extraction.name, expecting_name=True)
        return SlotUpdate(
            appointment_type=extraction.appointment_type,
            service=service[0] if service else None,
            vehicle=vehicle,
            vehicle_words=extraction.vehicle,
            day=when.day if when else None,
            time=when.time if when else None,
            part_of_day=when.part_of_day if when else None,
            day_range=when.day_range if when else None,
            name=name,
            phone=parse_phone(extraction.phone) if extraction.phone else None,
            email=parse_email(extraction.email) if extraction.email else None,
            yes_no=extraction.confirm,
        )

    async def aclose(self) -> None:
        if self._warm_up is not None and not self._warm_up.done():
            self._warm_up.cancel()
            await asyncio.gather(self._warm_up, return_exceptions=True)
        await self._client.aclose()
        await self._fallback.aclose()
