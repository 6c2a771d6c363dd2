"""The booking node: books, cancels and reschedules service visits and test drives by conversation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from agent.dialog.booking_slots import (
    PART_OF_DAY_START,
    QUESTIONS,
    SERVICE_TEST_DRIVE_MINUTES,
    apply_update,
    fresh_slots,
    missing_for_booking,
    requested_moment,
)
from agent.dialog.brain import Brain, SlotUpdate
from agent.dialog.speech_format import say_code, say_list, say_phone, say_when
from agent.dialog.state import BookingSlots, ConversationState, CustomerContext
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import last_caller_text
from agent.dialog.vehicle_match import describe_vehicle
from agent.store.models import Appointment, Availability
from agent.store.scheduling import SlotUnavailable

_ACTIONS = {"book_service": "book", "book_test_drive": "book", "cancel": "cancel", "reschedule": "reschedule"}
_REASONS = {
    "taken": "that time is already taken",
    "closed": "we're closed at that time",
    "past": "that time has already passed",
    "too_far": "I can only book up to two months ahead",
}


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


class BookingTurn:
    """One caller turn of a booking conversation; returns the new slots and what to say."""

    def __init__(self, tools: DealershipTools, state: ConversationState, update: SlotUpdate) -> None:
        self.tools = tools
        self.state = state
        self.update = update
        self.customer = state.customer.model_copy(deep=True)

    def _today(self) -> date:
        return self.tools.now().date()

    def _when(self, moment: datetime) -> str:
        return say_when(moment, self._today())

    def _what(self, slots: BookingSlots) -> str:
        if slots.appointment_type == "test_drive":
            vehicle = self.tools.vehicle_by_id(slots.inventory_id)
            return f"a test drive of {describe_vehicle(vehicle)}" if vehicle else "a test drive"
        return _article((slots.service_type or "service visit").lower())

    def _describe(self, appointment: Appointment) -> str:
        if appointment.appointment_type == "test_drive":
            vehicle = self.tools.vehicle_by_id(appointment.inventory_id)
            return f"test drive of {describe_vehicle(vehicle)}" if vehicle else "test drive"
        service = self.tools.service_by_id(appointment.service_type_id)
        return (service.name if service else "service visit").lower()

    def _offer(self, slots: BookingSlots, availability: Availability, lead: str) -> str:
        alternatives = sorted(
            availability.alternatives
        )  # said in time order, so "the first one" is the earliest
        slots.offered_times = [moment.isoformat() for moment in alternatives]
        slots.preferred_time = None
        if not alternatives:
            slots.awaiting = "day"
            return f"{lead} I don't have anything open near then. Which other day would suit you?"
        slots.awaiting = "choice"
        options = say_list([self._when(m) for m in alternatives], "or")
        return f"{lead} The nearest times I have are {options}. Would one of those work?"

    @staticmethod
    def _sorry(availability: Availability) -> str:
        return f"I'm sorry, {_REASONS.get(availability.reason, 'that time is not free')}."

    async def run(self) -> tuple[BookingSlots, str]:
        intent = self.state.detected_intent
        slots = self.state.booking_slots.model_copy(deep=True)
        if intent == "cancel" and slots.is_active() and slots.action == "book":
            return (
                BookingSlots(),
                "No problem, I won't book anything. Is there anything else I can help with?",
            )
        action = _ACTIONS.get(intent)
        if action == "reschedule" and slots.is_active() and slots.action == "book":
            action = None  # "actually, make it Monday" while booking is a correction, not a reschedule
        if action is not None and (not slots.is_active() or slots.action != action):
            slots = fresh_slots(action, self.customer)
        if not slots.is_active():
            slots = fresh_slots("book", self.customer)
        if intent == "book_test_drive" and slots.appointment_type is None:
            slots.appointment_type = "test_drive"
        was_confirming = slots.awaiting == "confirm"
        changed = apply_update(slots, self.update)
        if slots.action == "cancel":
            return slots, await self._cancel(slots, was_confirming)
        if slots.action == "reschedule":
            return slots, await self._reschedule(slots, was_confirming, changed)
        return slots, await self._book(slots, was_confirming, changed)

    async def _book(self, slots: BookingSlots, was_confirming: bool, changed: bool) -> str:
        if was_confirming and not changed:
            if self.update.yes_no == "yes":
                return await self._write_booking(slots)
            if self.update.yes_no == "no":
                return "No problem. What would you like to change: the day, the time, or something else?"
        kind = slots.appointment_type
        if slots.preferred_date and slots.preferred_time is None and slots.part_of_day and kind:
            start = datetime.combine(
                date.fromisoformat(slots.preferred_date), PART_OF_DAY_START[slots.part_of_day], self.tools.tz
            )
            found = await self.tools.check_availability(kind, start, slots.inventory_id)
            if found.requested_free:
                slots.preferred_time = start.strftime("%H:%M")
            else:
                return self._offer(slots, found, self._sorry(found))
        moment = requested_moment(slots, self.tools.tz)
        if moment is not None and kind is not None:
            found = await self.tools.check_availability(kind, moment, slots.inventory_id)
            if not found.requested_free:
                return self._offer(slots, found, self._sorry(found))
            slots.offered_times = []
        missing = missing_for_booking(slots)
        lead = "Got it." if changed and self.state.booking_slots.is_active() else ""
        if missing is not None:
            slots.awaiting = missing
            question = QUESTIONS[missing]
            if missing == "day":
                question = f"What day works best for {self._what(slots)}?"
            return f"{lead} {question}".strip()
        slots.awaiting = "confirm"
        assert moment is not None
        phone = f", and we'll reach you at {say_phone(slots.customer_phone or '')}"
        return (
            f"Let me read that back: {self._what(slots)} on {self._when(moment)}, "
            f"for {slots.customer_name}{phone}. Shall I book it?"
        )

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
            lead = f"I'm sorry, {_REASONS.get(unavailable.availability.reason, 'that time was just taken')}."
            return self._offer(slots, unavailable.availability, lead)
        slots.completed = True
        slots.awaiting = None
        slots.confirmation_code = appointment.confirmation_code
        customer = await self.tools.get_customer(slots.customer_phone)
        if customer is not None:
            self.customer = CustomerContext(
                customer_id=customer.id,
                name=customer.name,
                phone=customer.phone,
                email=customer.email,
                vehicles=[{"make": v.make, "model": v.model, "year": v.year} for v in customer.vehicles],
            )
        return (
            f"You're all set: {self._what(slots)} on {self._when(moment)}. Your confirmation code is "
            f"{say_code(appointment.confirmation_code)}. Is there anything else I can help with?"
        )

    async def _find(self, slots: BookingSlots) -> Appointment | None:
        if slots.confirmation_code:
            found = await self.tools.find_appointment(slots.confirmation_code)
            if found is not None and found.status == "booked":
                return found
        if slots.customer_phone:
            upcoming = await self.tools.upcoming_appointments(slots.customer_phone)
            if upcoming:
                slots.confirmation_code = upcoming[0].confirmation_code
                return upcoming[0]
        return None

    async def _cancel(self, slots: BookingSlots, was_confirming: bool) -> str:
        appointment = await self._find(slots)
        if appointment is None:
            return self._not_found(slots)
        moment = datetime.combine(appointment.scheduled_date, appointment.scheduled_time, self.tools.tz)
        what = f"your {self._describe(appointment)} on {self._when(moment)}"
        if was_confirming and self.update.yes_no == "yes":
            await self.tools.cancel_appointment(appointment.confirmation_code)
            slots.completed, slots.awaiting = True, None
            return f"Done. I've cancelled {what}. Is there anything else I can help with?"
        if was_confirming and self.update.yes_no == "no":
            slots.completed, slots.awaiting = True, None
            return f"Okay, I'll leave {what} as it is. Anything else?"
        slots.awaiting = "confirm"
        return f"I see {what}. Would you like me to cancel it?"

    async def _reschedule(self, slots: BookingSlots, was_confirming: bool, changed: bool) -> str:
        appointment = await self._find(slots)
        if appointment is None:
            return self._not_found(slots)
        old = datetime.combine(appointment.scheduled_date, appointment.scheduled_time, self.tools.tz)
        what = f"your {self._describe(appointment)} on {self._when(old)}"
        moment = requested_moment(slots, self.tools.tz)
        if was_confirming and not changed and moment is not None:
            if self.update.yes_no == "yes":
                try:
                    moved = await self.tools.reschedule_appointment(appointment.confirmation_code, moment)
                except SlotUnavailable as unavailable:
                    return self._offer(
                        slots, unavailable.availability, "I'm sorry, that time was just taken."
                    )
                slots.completed, slots.awaiting = True, None
                new = datetime.combine(moved.scheduled_date, moved.scheduled_time, self.tools.tz)
                return f"Done. Your {self._describe(moved)} is now on {self._when(new)}. Anything else?"
            if self.update.yes_no == "no":
                return "No problem. What day and time would you prefer instead?"
        if slots.preferred_date is None:
            slots.awaiting = "day"
            return f"I see {what}. What day would you like to move it to?"
        if moment is None:
            slots.awaiting = "time"
            return "And what time would suit you that day?"
        found = await self.tools.check_availability(
            appointment.appointment_type, moment, appointment.inventory_id
        )
        if not found.requested_free:
            return self._offer(slots, found, self._sorry(found))
        slots.awaiting = "confirm"
        return f"So I'll move {what} to {self._when(moment)}. Is that right?"

    def _not_found(self, slots: BookingSlots) -> str:
        if slots.awaiting == "code" or slots.customer_phone or slots.confirmation_code:
            slots.completed, slots.awaiting = True, None
            return (
                "I couldn't find an upcoming appointment under that. "
                "Would you like me to connect you with someone, or book a new one?"
            )
        slots.awaiting = "code"
        return QUESTIONS["code"]


def make_booking_node(
    brain: Brain, tools: DealershipTools
) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    async def booking(state: ConversationState) -> dict[str, Any]:
        update = await brain.extract(last_caller_text(state), state)
        turn = BookingTurn(tools, state, update)
        slots, reply = await turn.run()
        fell_back = update.source == "offline-fallback"
        return {
            "understood_by": "offline-fallback" if fell_back else state.understood_by,
            "booking_slots": slots,
            "customer": turn.customer,
            "draft_reply": reply,
            "current_agent": "booking",
        }

    return booking
