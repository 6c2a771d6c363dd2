"""Cancelling and moving an existing appointment, only with proof that it is the caller's to change.

Proof is the booking's confirmation code, a booking made in this same conversation, or a caller id a trusted
trunk vouches for together with a detail of the booking (its day, its service or car). A phone number the
caller says or types, or a caller id from an untrusted peer, is a claim and finds nothing (issue 16, finding 1).
"""

from __future__ import annotations

from datetime import datetime

from agent.dialog.booking_slots import QUESTIONS, requested_moment
from agent.dialog.brain import SlotUpdate
from agent.dialog.nodes.slot_offers import SlotOffers, sorry
from agent.dialog.speech_format import say_date_time, say_time, say_when
from agent.dialog.state import BookingSlots, ConversationState
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.vehicle_match import describe_vehicle
from agent.store.models import Appointment
from agent.store.scheduling import SlotUnavailable

ASK_DETAIL = (
    "I see an upcoming appointment under the number you're calling from. To make sure I have the right "
    "one: what day is it on, or what is it for?"
)
NO_MATCH = (
    "I couldn't find an appointment like that under the number you're calling from. If you have the "
    "confirmation code, you can read it to me."
)


def fits(appointment: Appointment, detail: SlotUpdate) -> bool:
    """Whether a detail the caller gave (a day, a service, a car) is one of this booking's."""
    if detail.day is not None and detail.day == appointment.scheduled_date:
        return True
    if detail.service is not None and detail.service.id == appointment.service_type_id:
        return True
    return detail.vehicle is not None and detail.vehicle.id == appointment.inventory_id


class AppointmentChanges:
    """One caller turn of a cancellation or a reschedule; each method returns what to say."""

    def __init__(
        self,
        tools: DealershipTools,
        offers: SlotOffers,
        update: SlotUpdate,
        state: ConversationState,
        detail: SlotUpdate,
    ) -> None:
        self.tools = tools
        self.offers = offers
        self.update = update
        self.state = state
        self.detail = detail  # what of this turn describes the existing booking (not the new day)
        self.owner_phone: str | None = (
            None  # set when the proof is the trusted caller id: the store checks it
        )
        self.asked_anything_else = False

    def _when(self, moment: datetime) -> str:
        return say_when(moment, self.tools.now().date())

    def describe(self, appointment: Appointment) -> str:
        if appointment.appointment_type == "test_drive":
            vehicle = self.tools.vehicle_by_id(appointment.inventory_id)
            return f"test drive of {describe_vehicle(vehicle)}" if vehicle else "test drive"
        service = self.tools.service_by_id(appointment.service_type_id)
        return (service.name if service else "service visit").lower()

    async def _booked(self, code: str | None) -> Appointment | None:
        found = await self.tools.find_appointment(code) if code else None
        return found if found is not None and found.status == "booked" else None

    async def _find(self, slots: BookingSlots) -> Appointment | str:
        """The appointment the caller has proven theirs, or what to say to get that proof."""
        found = await self._booked(slots.confirmation_code)
        if found is not None:
            return found
        for code in reversed(self.state.booked_codes):  # "actually, cancel that": booked in this conversation
            found = await self._booked(code)
            if found is not None:
                slots.confirmation_code = code
                return found
        trusted = self.state.verified_phone()
        if trusted is None or slots.awaiting == "code":
            return self._not_found(slots)
        upcoming = await self.tools.upcoming_appointments(trusted)
        matching = [a for a in upcoming if fits(a, self.detail)]
        if matching:
            slots.confirmation_code, self.owner_phone = matching[0].confirmation_code, trusted
            return matching[0]
        if not upcoming or slots.awaiting == "detail":
            slots.awaiting = "code"
            return NO_MATCH
        slots.awaiting = "detail"
        return ASK_DETAIL

    async def cancel(self, slots: BookingSlots, was_confirming: bool) -> str:
        appointment = await self._find(slots)
        if isinstance(appointment, str):
            return appointment
        moment = datetime.combine(appointment.scheduled_date, appointment.scheduled_time, self.tools.tz)
        what = f"your {self.describe(appointment)} {self._when(moment)}"
        if was_confirming and self.update.yes_no == "yes":
            await self.tools.cancel_appointment(appointment.confirmation_code, phone=self.owner_phone)
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
        if isinstance(appointment, str):
            return appointment
        old = datetime.combine(appointment.scheduled_date, appointment.scheduled_time, self.tools.tz)
        what = f"your {self.describe(appointment)} {self._when(old)}"
        _keep_same(slots, self.update, appointment)
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
            return (
                f"And what time would suit you that day? It's at {say_time(appointment.scheduled_time)} now."
            )
        found = await self.tools.check_availability(kind, moment, appointment.inventory_id)
        if not found.requested_free:
            return await self.offers.instead_of(slots, found, sorry(found))
        slots.awaiting = "confirm"
        return f"So I'll move {what} to {say_date_time(moment, self.tools.now().date())}. Is that right?"

    def _not_found(self, slots: BookingSlots) -> str:
        if slots.awaiting == "code" or slots.confirmation_code:
            heard = "with that code" if slots.confirmation_code else "without its confirmation code"
            slots.completed, slots.awaiting = True, None
            return (
                f"I'm sorry, I can't find an upcoming appointment {heard}. "
                "Would you like me to connect you with someone, or book a new one?"
            )
        slots.awaiting = "code"
        return QUESTIONS["code"]


def _keep_same(slots: BookingSlots, update: SlotUpdate, appointment: Appointment) -> None:
    """ "Move it to Wednesday, same time": the time (or the day) the appointment has now."""
    if update.same_time and slots.preferred_time is None:
        slots.preferred_time, slots.part_of_day = appointment.scheduled_time.strftime("%H:%M"), None
    if update.same_day and slots.preferred_date is None:
        slots.preferred_date = appointment.scheduled_date.isoformat()
