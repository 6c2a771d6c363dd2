"""The booking node: books, cancels and reschedules service visits and test drives by conversation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from agent.dialog.booking_slots import (
    QUESTIONS,
    SERVICE_TEST_DRIVE_MINUTES,
    apply_update,
    clear_slot,
    fresh_slots,
    missing_for_booking,
    requested_moment,
)
from agent.dialog.brain import Brain, SlotUpdate
from agent.dialog.nodes import booking_prompts as prompts
from agent.dialog.nodes.appointment_changes import AppointmentChanges
from agent.dialog.nodes.faq import FaqTurn
from agent.dialog.nodes.slot_offers import SlotOffers, sorry
from agent.dialog.speech_format import say_code, say_when
from agent.dialog.state import AwaitedSlot, BookingSlots, ConversationState, CustomerContext, PendingOffer
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import last_caller_text
from agent.dialog.vehicle_match import among
from agent.store.phone_numbers import normalize_phone
from agent.store.scheduling import SlotUnavailable

_ACTIONS = {"book_service": "book", "book_test_drive": "book", "cancel": "cancel", "reschedule": "reschedule"}
_WHEN_SLOTS = ("day", "time", "choice")


class BookingTurn:
    """One caller turn of a booking conversation; returns the new slots and what to say."""

    def __init__(self, tools: DealershipTools, state: ConversationState, update: SlotUpdate) -> None:
        self.tools = tools
        self.state = state
        self.update = update
        self.customer = state.customer.model_copy(deep=True)
        self.offers = SlotOffers(tools)
        self.asked_anything_else = False
        self.booked_code: str | None = None

    def _caller_id(self) -> str | None:
        """The number the caller is calling from, when the line gave one."""
        return self.state.caller_id

    def _trusted(self) -> bool:
        """Whether the customer context is the caller's own to read back: what they told us in this
        conversation, or a record a trusted trunk's caller id vouches for (not a claimed number's record)."""
        customer = self.customer
        verified = self.state.verified_phone()
        return customer.customer_id is None or (verified is not None and customer.phone == verified)

    async def run(self) -> tuple[BookingSlots, str]:
        intent = self.state.detected_intent
        slots = self.state.booking_slots.model_copy(deep=True)
        if intent == "cancel" and slots.is_active() and slots.action == "book":
            self.asked_anything_else = True
            return (
                BookingSlots(),
                "No problem, I won't book anything. Is there anything else I can help with?",
            )
        action = _ACTIONS.get(intent)
        if action == "reschedule" and slots.is_active() and slots.action == "book":
            action = None  # "actually, make it Monday" while booking is a correction, not a reschedule
        if action == "book" and slots.is_active() and slots.awaiting in ("detail", "code"):
            action = None  # "the oil change on Tuesday" describes the booking to change
        if action is not None and (not slots.is_active() or slots.action != action):
            slots = fresh_slots(action, self.customer, trusted=self._trusted())
            self._take_offer(slots)
        if not slots.is_active():
            slots = fresh_slots("book", self.customer, trusted=self._trusted())
        if intent == "book_test_drive" and slots.appointment_type is None:
            slots.appointment_type = "test_drive"
        was = slots.awaiting
        update, detail = self._listed_car(slots), self.update
        if slots.action == "reschedule" and was != "detail":
            detail = SlotUpdate(service=update.service, vehicle=update.vehicle)  # its day is the new day
        elif was == "detail":  # the day or service of the booking to change, not a new value
            update = replace(update, day=None, time=None, part_of_day=None, day_range=None, service=None)
        changed = apply_update(slots, update)
        changes = AppointmentChanges(self.tools, self.offers, self.update, self.state, detail)
        if slots.action == "cancel":
            reply = await changes.cancel(slots, was == "confirm")
        elif slots.action == "reschedule":
            reply = await changes.reschedule(slots, was == "confirm", changed)
        else:
            reply = await self._book(slots, was, changed)
        self.asked_anything_else = self.asked_anything_else or changes.asked_anything_else
        return slots, reply

    def _take_offer(self, slots: BookingSlots) -> None:
        """ "Would you like to book one?" answered yes: the service (or the car) the agent was talking about."""
        offer = self.state.live_offer()
        if offer is None or offer.kind != self.state.detected_intent:
            return
        service = self.tools.service_by_id(offer.service_type_id)
        if service is not None:
            slots.appointment_type, slots.service_type, slots.service_type_id = (
                "service",
                service.name,
                service.id,
            )
        if offer.kind == "book_test_drive":
            slots.appointment_type = "test_drive"
            slots.candidate_ids = list(offer.inventory_ids)
            vehicle = (
                self.tools.vehicle_by_id(offer.inventory_ids[0]) if len(offer.inventory_ids) == 1 else None
            )
            if vehicle is not None:
                slots.inventory_id = vehicle.id
                slots.vehicle = f"{vehicle.year} {vehicle.make} {vehicle.model}"

    def _restated(self) -> bool:
        """The caller said a detail again as it already was (a correction that changes nothing)."""
        said = self.update
        values = (said.name, said.phone, said.email, said.day, said.time, said.service, said.vehicle)
        return any(value is not None for value in values)

    def _listed_car(self, slots: BookingSlots) -> SlotUpdate:
        """The update, with "the Civic" meaning the Civic the agent just listed."""
        listed = [v for v in map(self.tools.vehicle_by_id, slots.candidate_ids) if v is not None]
        if self.update.vehicle is None or not listed:
            return self.update
        return replace(self.update, vehicle=among(self.update.vehicle, listed))

    async def _yes_no(self, slots: BookingSlots, was: str | None, changed: bool) -> str | None:
        """Answers to the booking's own yes/no questions; None when the turn goes on as usual."""
        answer = None if changed else self.update.yes_no
        if answer == "no" and self._restated():
            answer = None  # "sorry, my name is Jon, with no h" when it already was: the read-back again
        if was == "confirm" and answer == "yes":
            return await self._write_booking(slots)
        if was == "confirm" and answer == "no":
            slots.awaiting, slots.failed_asks = "change", 0
            return f"No problem. {QUESTIONS['change']}"
        if was == "change" and not changed and self.update.names_slot is not None:
            clear_slot(slots, self.update.names_slot)
        if was == "caller_id" and answer == "yes" and self._caller_id():
            slots.customer_phone = normalize_phone(self._caller_id() or "")
        elif was == "caller_id" and answer == "no":
            slots.awaiting = "phone"
            return f"Okay. {QUESTIONS['phone']} Or {prompts.KEYPAD}."
        if was == "choice" and answer == "yes" and len(slots.offered_times) == 1:
            picked = datetime.fromisoformat(slots.offered_times[0])
            slots.preferred_date, slots.preferred_time = picked.date().isoformat(), picked.strftime("%H:%M")
        elif was == "choice" and answer == "yes" and slots.offered_times:
            options = self.offers.say_options([datetime.fromisoformat(m) for m in slots.offered_times])
            return f"Great. Which one: {options}?"
        return None

    async def _book(self, slots: BookingSlots, was: str | None, changed: bool) -> str:
        answered = await self._yes_no(slots, was, changed)
        if answered is not None:
            return answered
        if was == "phone" and self.update.number_unknown and not slots.customer_phone:
            return prompts.number_unknown(slots, self._caller_id())
        kind = slots.appointment_type
        missing = missing_for_booking(slots)
        knows_what = kind is not None and missing not in ("action", "service", "vehicle")
        if knows_what and kind is not None:
            if self.update.suggestions and was in _WHEN_SLOTS and not changed:
                return await self.offers.suggest(slots, kind, earliest=self.update.suggestions == "earliest")
            vague_day = bool(slots.day_range) and slots.preferred_date is None
            vague_time = (
                slots.preferred_date is not None and slots.preferred_time is None and slots.part_of_day
            )
            if vague_day or vague_time:
                return await self.offers.vague(slots, kind)
        moment = requested_moment(slots, self.tools.tz)
        if moment is not None and kind is not None:
            found = await self.tools.check_availability(kind, moment, slots.inventory_id)
            if not found.requested_free:
                return await self.offers.instead_of(slots, found, sorry(found))
            slots.offered_times, slots.day_range, slots.part_of_day = [], [], None
        if missing is not None:
            return await self._ask(slots, missing, was, changed)
        assert moment is not None
        again = slots.failed_asks + 1 if was == "confirm" and not changed and not self._restated() else 0
        slots.awaiting, slots.failed_asks = "confirm", again
        return prompts.read_back(self.tools, slots, moment, again=again)

    async def _ask(self, slots: BookingSlots, missing: AwaitedSlot, was: str | None, changed: bool) -> str:
        """The next question; after two turns without an answer to it, a way forward instead."""
        if was == "choice" and not changed and slots.offered_times:
            slots.failed_asks += 1
            slots.awaiting = "choice"
            options = self.offers.say_options([datetime.fromisoformat(m) for m in slots.offered_times])
            if slots.failed_asks >= 2:
                return (
                    f"Sorry, I'm not getting it. I have {options}. You can say the first one, the second one "
                    "or the last one, or name another day."
                )
            return f"Sorry, which one was that? I have {options}."
        slots.failed_asks = slots.failed_asks + 1 if missing == was and not changed else 0
        slots.awaiting = missing
        kind = slots.appointment_type
        if slots.failed_asks >= 2 and missing in _WHEN_SLOTS and kind is not None:
            return await self.offers.suggest(slots, kind)
        if slots.failed_asks >= 2:
            return prompts.way_forward(self.tools, slots, missing, self._caller_id())
        question = prompts.question(self.tools, slots, missing)
        if slots.failed_asks == 1:
            return f"Sorry, I didn't catch that. {question.removeprefix('Sure. ')}"
        lead = "Got it." if changed and self.state.booking_slots.is_active() else ""
        return f"{lead} {question}".strip()

    async def _write_booking(self, slots: BookingSlots) -> str:
        moment = requested_moment(slots, self.tools.tz)
        assert moment is not None and slots.appointment_type is not None and slots.customer_phone
        service = self.tools.service_by_id(slots.service_type_id)
        duration = service.duration_min if service else SERVICE_TEST_DRIVE_MINUTES
        try:
            appointment = await self.tools.book_appointment(
                kind=slots.appointment_type,
                when=moment,
                name=slots.customer_name,
                phone=slots.customer_phone,
                email=slots.customer_email,
                service_type_id=slots.service_type_id,
                inventory_id=slots.inventory_id,
                duration_min=duration,
                session_id=self.state.session_id,
            )
        except SlotUnavailable as unavailable:
            lead = sorry(unavailable.availability)
            return await self.offers.instead_of(slots, unavailable.availability, lead)
        slots.completed = True
        slots.awaiting = None
        slots.confirmation_code = self.booked_code = appointment.confirmation_code
        self.customer = await customer_after(self.tools, self.state, slots)
        self.asked_anything_else = True
        return (
            f"You're all set: {prompts.what_is_booked(self.tools, slots)} "
            f"{say_when(moment, self.tools.now().date())}. Your confirmation code is "
            f"{say_code(appointment.confirmation_code)}. Is there anything else I can help with?"
        )


async def customer_after(
    tools: DealershipTools, state: ConversationState, slots: BookingSlots
) -> CustomerContext:
    """Who the next booking of this conversation is for: the record when a trusted caller id is its
    number, else only what the caller told us (a record of a number they gave is never read back)."""
    phone = slots.customer_phone
    record = await tools.get_customer(phone) if phone else None
    if record is None or phone is None or normalize_phone(phone) != state.verified_phone():
        return CustomerContext(name=slots.customer_name, phone=phone, email=slots.customer_email)
    return CustomerContext(
        customer_id=record.id,
        name=record.name,
        phone=record.phone,
        email=record.email,
        vehicles=[{"make": v.make, "model": v.model, "year": v.year} for v in record.vehicles],
    )


async def _update_for(brain: Brain, state: ConversationState) -> SlotUpdate:
    """The booking values of this turn: from the words that were not a side question, but a service or car
    named only in the question ("how much is an oil change, and can I book one Friday?") still counts."""
    text = last_caller_text(state)
    update = await brain.extract(state.booking_text or text, state)
    if state.booking_text and update.service is None and update.vehicle is None:
        whole = await brain.extract(text, state)
        named = {k: v for k, v in whole.found_by.items() if k in ("service", "vehicle", "vehicle_words")}
        update = replace(
            update,
            service=whole.service,
            vehicle=whole.vehicle,
            vehicle_words=whole.vehicle_words,
            found_by={**update.found_by, **named},
        )
    return update


def make_booking_node(
    brain: Brain, tools: DealershipTools, faq: FaqTurn
) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    async def booking(state: ConversationState) -> dict[str, Any]:
        update = await _update_for(brain, state)
        turn = BookingTurn(tools, state, update)
        slots, reply = await turn.run()
        answers = [await faq.side_answer(request) for request in state.side_requests]
        offer = PendingOffer(kind="anything_else", asked_at_turn=state.turn_count)
        found_by = update.found_by or dict.fromkeys(update.values(), update.source)
        understood_by = state.understood_by
        if update.source == "offline-fallback":
            understood_by = "offline-fallback"
        elif "llm" in found_by.values():
            understood_by = "llm"
        return {
            "understood_by": understood_by,
            "slots_found_by": found_by,
            "booking_slots": slots,
            "customer": turn.customer,
            "booked_codes": [*state.booked_codes, *([turn.booked_code] if turn.booked_code else [])],
            "draft_reply": " ".join([*answers, reply]),
            "pending_offer": offer if turn.asked_anything_else else None,
            "current_agent": "booking",
        }

    return booking
