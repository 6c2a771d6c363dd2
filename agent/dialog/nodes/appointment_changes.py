"""Cancelling and moving an existing appointment, found by caller id, phone number or confirmation code."""

from __future__ import annotations

from datetime import datetime

from agent.dialog.booking_slots import QUESTIONS, requested_moment
from agent.dialog.brain import SlotUpdate
from agent.dialog.nodes.slot_offers import SlotOffers, sorry
from agent.dialog.speech_format import say_date_time, say_when
from agent.dialog.state import BookingSlots
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.vehicle_match import describe_vehicle
from agent.store.models import Appointment
from agent.store.scheduling import SlotUnavailable


class AppointmentChanges:
    """One caller turn of a cancellation or a reschedule; each method returns what to say."""

    def __init__(self, tools: DealershipTools, offers: SlotOffers, update: SlotUpdate) -> None:
        self.tools = tools
        self.offers = offers
        self.update = update
        self.asked_anything_else = False

    def _when(self, moment: datetime) -> str:
        return say_when(moment, self.tools.now().date())

    def describe(self, appointment: Appointment) -> str:
        if appointment.appointment_type == "test_drive":
            vehicle = self.tools.vehicle_by_id(appointment.inventory_id)
            return f"test drive of {describe_vehicle(vehicle)}" if vehicle else "test drive"
        service = self.tools.service_by_id(appointment.service_type_id)
        return (service.name if service else "service visit").lower()

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

    async def cancel(self, slots: BookingSlots, was_confirming: bool) -> str:
        appointment = await self._find(slots)
        if appointment is None:
            return self._not_found(slots)
        moment = datetime.combine(appointment.scheduled_date, appointment.scheduled_time, self.tools.tz)
        what = f"your {self.describe(appointment)} {self._when(moment)}"
        if was_confirming and self.update.yes_no == "yes":
            await self.tools.cancel_appointment(appointment.confirmation_code)
            slots.completed, slots.awaiting = True, None
            self.asked_anything_else = True
            return f"Done. I've cancelled {what}. Is there anything else I can help with?"
        if was_confirming and self.update.yes_no == "no":
            slots.completed, slots.awaiting = True, None
            self.asked_anything_else = True
            return f"Okay, I'll leave {what} as it is. Is there anything else I can help with?"
        slots.awaiting = "confirm"
        return f"I see {what}. Would you like me to cancel it?"

    async def reschedule(self, slots: BookingSlots, was_confirming: bool, changed: bool) -> str:
        appointment = await self._find(slots)
        if appointment is None:
            return self._not_found(slots)
        old = datetime.combine(appointment.scheduled_date, appointment.scheduled_time, self.tools.tz)
        what = f"your {self.describe(appointment)} {self._when(old)}"
        moment = requested_moment(slots, self.tools.tz)
        if was_confirming and not changed and moment is not None:
            if self.update.yes_no == "yes":
                try:
                    moved = await self.tools.reschedule_appointment(appointment.confirmation_code, moment)
                except SlotUnavailable as unavailable:
                    lead = "I'm sorry, that time was just taken."
                    return await self.offers.instead_of(slots, unavailable.availability, lead)
                slots.completed, slots.awaiting = True, None
                self.asked_anything_else = True
                new = datetime.combine(moved.scheduled_date, moved.scheduled_time, self.tools.tz)
                return f"Done. Your {self.describe(moved)} is now {self._when(new)}. Is there anything else?"
            if self.update.yes_no == "no":
                slots.awaiting = "day"
                return "No problem. What day and time would you prefer instead?"
        kind = appointment.appointment_type
        if slots.preferred_time is None and (slots.day_range or (slots.preferred_date and slots.part_of_day)):
            slots.inventory_id = appointment.inventory_id
            return await self.offers.vague(slots, kind)
        if slots.preferred_date is None:
            slots.awaiting = "day"
            return f"I see {what}. What day would you like to move it to?"
        if moment is None:
            slots.awaiting = "time"
            return "And what time would suit you that day?"
        found = await self.tools.check_availability(kind, moment, appointment.inventory_id)
        if not found.requested_free:
            return await self.offers.instead_of(slots, found, sorry(found))
        slots.awaiting = "confirm"
        return f"So I'll move {what} to {say_date_time(moment, self.tools.now().date())}. Is that right?"

    def _not_found(self, slots: BookingSlots) -> str:
        if slots.awaiting == "code" or slots.customer_phone or slots.confirmation_code:
            slots.completed, slots.awaiting = True, None
            return (
                "I couldn't find an upcoming appointment under that. "
                "Would you like me to connect you with someone, or book a new one?"
            )
        slots.awaiting = "code"
        return QUESTIONS["code"]
