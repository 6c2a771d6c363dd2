"""Pure slot bookkeeping for bookings: apply what the caller said, and pick the next thing to ask."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from agent.dialog.brain import SlotUpdate
from agent.dialog.state import AwaitedSlot, BookingSlots, CustomerContext

SERVICE_TEST_DRIVE_MINUTES = 30
PART_OF_DAY_START = {"morning": time(9, 0), "afternoon": time(13, 0), "evening": time(16, 30)}


def fresh_slots(action: str, customer: CustomerContext) -> BookingSlots:
    """A new booking that already knows what the caller id told us."""
    return BookingSlots(
        action=action,
        customer_name=customer.name,
        customer_phone=customer.phone,
        customer_email=customer.email,
        email_declined=customer.customer_id is not None and customer.email is None,
    )


def apply_update(slots: BookingSlots, update: SlotUpdate) -> bool:
    """Write the heard values into the slots (in place); True when anything that a summary shows changed."""
    changed = False

    def put(field: str, value: object) -> None:
        nonlocal changed
        if value is not None and getattr(slots, field) != value:
            setattr(slots, field, value)
            changed = True

    if slots.awaiting == "choice" and update.choice_index is not None and slots.offered_times:
        index = min(update.choice_index, len(slots.offered_times) - 1)
        picked = datetime.fromisoformat(slots.offered_times[index])
        put("preferred_date", picked.date().isoformat())
        put("preferred_time", picked.strftime("%H:%M"))
        # "the first one" is a pick from the offer, not "the 1st" of the month.
        update = replace(update, day=None, time=None, part_of_day=None)
    elif slots.awaiting == "choice" and update.time is not None and update.day is None:
        for offered in slots.offered_times:
            moment = datetime.fromisoformat(offered)
            if moment.time() == update.time:
                put("preferred_date", moment.date().isoformat())
                break
    if update.service is not None and slots.action == "book":
        put("appointment_type", "service")
        put("service_type", update.service.name)
        put("service_type_id", update.service.id)
    if (
        update.vehicle is not None
        and slots.action == "book"
        and (slots.appointment_type in (None, "test_drive") or update.appointment_type == "test_drive")
    ):
        put("appointment_type", "test_drive")
        put("inventory_id", update.vehicle.id)
        put("vehicle", f"{update.vehicle.year} {update.vehicle.make} {update.vehicle.model}")
    if update.appointment_type is not None and slots.appointment_type is None and slots.action == "book":
        put("appointment_type", update.appointment_type)
    if update.day is not None:
        put("preferred_date", update.day.isoformat())
    if update.time is not None:
        put("preferred_time", update.time.strftime("%H:%M"))
        slots.part_of_day = None
    elif update.part_of_day is not None and (update.day is not None or slots.preferred_time is None):
        put("part_of_day", update.part_of_day)
        if update.day is not None or slots.awaiting in ("time", "day", "choice"):
            slots.preferred_time = None
    if update.name is not None:
        put("customer_name", update.name)
    if update.phone is not None:
        put("customer_phone", update.phone)
    if update.email is not None:
        put("customer_email", update.email)
        slots.email_declined = False
    elif update.declined and slots.awaiting == "email":
        slots.email_declined = True
    if update.confirmation_code is not None:
        slots.confirmation_code = update.confirmation_code
    return changed


def requested_moment(slots: BookingSlots, tz: ZoneInfo) -> datetime | None:
    if slots.preferred_date is None or slots.preferred_time is None:
        return None
    day = date.fromisoformat(slots.preferred_date)
    clock = time.fromisoformat(slots.preferred_time)
    return datetime.combine(day, clock, tzinfo=tz)


def missing_for_booking(slots: BookingSlots) -> AwaitedSlot | None:
    """The next slot a booking needs, in the order a person would ask for them."""
    if slots.appointment_type is None:
        return "action"
    if slots.appointment_type == "service" and slots.service_type_id is None:
        return "service"
    if slots.appointment_type == "test_drive" and slots.inventory_id is None:
        return "vehicle"
    if slots.preferred_date is None:
        return "day"
    if slots.preferred_time is None:
        return "time"
    if not slots.customer_name:
        return "name"
    if not slots.customer_phone:
        return "phone"
    if not slots.customer_email and not slots.email_declined:
        return "email"
    return None


QUESTIONS: dict[str, str] = {
    "action": "Sure. Is that for a service appointment, or a test drive?",
    "service": "What do you need done? For example an oil change, new tires, or a brake check.",
    "vehicle": "Which car would you like to test drive?",
    "day": "What day works best for you?",
    "time": "And what time would you like?",
    "name": "Can I get your name, please?",
    "phone": "What's the best phone number to reach you?",
    "email": "Would you like a confirmation by email? If so, what's the address? Or just say skip.",
    "choice": "Which of those times works for you?",
    "code": "What's the phone number on the appointment, or your confirmation code?",
}
