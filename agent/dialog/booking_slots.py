"""Pure slot bookkeeping for bookings: apply what the caller said, and pick the next thing to ask."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz

from agent.dialog.brain import SlotUpdate
from agent.dialog.state import AwaitedSlot, BookingSlots, CustomerContext

SERVICE_TEST_DRIVE_MINUTES = 30
# After a value was asked for, a vague answer clears an exact time said earlier ("actually, afternoon").
_TIME_QUESTIONS = ("time", "day", "choice", "confirm", "change")


def fresh_slots(action: str, customer: CustomerContext, *, trusted: bool) -> BookingSlots:
    """A new booking that already knows what the caller id told us. `trusted`: the customer context is the
    caller's own (a verified caller id, or what the caller said): its name and e-mail are reused. A claimed
    number's record gives its first name only, and its e-mail is never read back (issue 16, finding 3)."""
    if trusted:
        return BookingSlots(
            action=action,
            customer_name=customer.name,
            customer_phone=customer.phone,
            customer_email=customer.email,
        )
    first_name = (customer.name or "").split(" ")[0] or None
    return BookingSlots(action=action, customer_name=first_name, customer_phone=customer.phone)


def corrected_name(held: str | None, said: str, part: str | None) -> str:
    """The name after the caller gave `said`: "the last name is Watson" changes the last name only, and a
    first name alone ("my name is Jon, with no h") changes the word it corrects, keeping the rest."""
    words = (held or "").split()
    new = said.split()
    if len(words) < 2 or len(new) != 1:
        return said
    if part == "last":
        return " ".join([*words[:-1], said])
    if part == "first":
        return " ".join([said, *words[1:]])
    likeness = [fuzz.ratio(said.casefold(), word.casefold()) for word in words]
    index = max(range(len(words)), key=likeness.__getitem__)
    if likeness[index] < 60 or said[0].casefold() != words[index][0].casefold():
        index = 0  # not a respelling of either: a first name alone is the first name
    return " ".join([*words[:index], said, *words[index + 1 :]])


def _pick_offered(slots: BookingSlots, update: SlotUpdate) -> tuple[datetime | None, SlotUpdate]:
    """The offered time the caller chose ("2:30 works", "the Tuesday one", "the second one"), if any."""
    offered = [datetime.fromisoformat(moment) for moment in slots.offered_times]
    if slots.awaiting != "choice" or not offered:
        return None, update
    if update.time is not None:
        same = [m for m in offered if m.time() == update.time and update.day in (None, m.date())]
        if same:
            return same[0], replace(update, day=None, time=None, part_of_day=None)
    if update.choice_index is not None:
        index = max(-len(offered), min(update.choice_index, len(offered) - 1))
        # "the first one" is a pick from the offer, not "the 1st" of the month.
        return offered[index], replace(update, day=None, time=None, part_of_day=None, day_range=None)
    if update.day is not None and update.time is None:
        same_day = [m for m in offered if m.date() == update.day]
        if len(same_day) == 1:
            return same_day[0], replace(update, day=None, part_of_day=None)
    return None, update


def apply_update(slots: BookingSlots, update: SlotUpdate) -> bool:
    """Write the heard values into the slots (in place); True when anything that a summary shows changed."""
    changed = False

    def put(field: str, value: object) -> None:
        nonlocal changed
        if value is not None and getattr(slots, field) != value:
            setattr(slots, field, value)
            changed = True

    picked, update = _pick_offered(slots, update)
    if picked is not None:
        put("preferred_date", picked.date().isoformat())
        put("preferred_time", picked.strftime("%H:%M"))
        slots.part_of_day, slots.day_range = None, []
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
    _apply_when(slots, update, put)
    if update.name is not None:
        put("customer_name", corrected_name(slots.customer_name, update.name, update.name_part))
    put("customer_phone", update.phone)
    put("customer_email", update.email)
    if update.confirmation_code is not None:
        slots.confirmation_code = update.confirmation_code
    return changed


def _apply_when(slots: BookingSlots, update: SlotUpdate, put: Callable[[str, object], None]) -> None:
    """Day, time, part of the day and span of days: the newest wins, and nothing vague is made exact."""
    if update.day is not None:
        put("preferred_date", update.day.isoformat())
        slots.day_range = []
    elif update.day_range is not None:
        put("day_range", [update.day_range[0].isoformat(), update.day_range[1].isoformat()])
        slots.preferred_date = None
        if update.time is None:
            slots.preferred_time = None
    if update.time is not None:
        put("preferred_time", update.time.strftime("%H:%M"))
        slots.part_of_day = None
    elif update.part_of_day is not None:
        put("part_of_day", update.part_of_day)
        clears = update.day is not None or update.correction or slots.awaiting in _TIME_QUESTIONS
        if clears and slots.preferred_time is not None:
            slots.preferred_time = None


def clear_slot(slots: BookingSlots, slot: str) -> None:
    """Forget one detail the caller wants to change ("the time"), so that it is asked again."""
    if slot == "day":
        slots.preferred_date = None
    elif slot == "time":
        slots.preferred_time, slots.part_of_day = None, None
    elif slot == "name":
        slots.customer_name = None
    elif slot == "phone":
        slots.customer_phone = None
    elif slot == "email":
        slots.customer_email = None
    elif slot == "service":
        slots.service_type, slots.service_type_id = None, None
        slots.inventory_id, slots.vehicle = None, None


def requested_moment(slots: BookingSlots, tz: ZoneInfo) -> datetime | None:
    if slots.preferred_date is None or slots.preferred_time is None:
        return None
    day = date.fromisoformat(slots.preferred_date)
    clock = time.fromisoformat(slots.preferred_time)
    return datetime.combine(day, clock, tzinfo=tz)


def missing_for_booking(slots: BookingSlots) -> AwaitedSlot | None:
    """The next slot a booking needs, in the order a person would ask for them (e-mail is never asked)."""
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
    return None


QUESTIONS: dict[str, str] = {
    "action": "Sure. Is that for a service appointment, or a test drive?",
    "service": "What do you need done? For example an oil change, new tires, or a brake check.",
    "vehicle": "Which car would you like to test drive?",
    "day": "What day works best for you?",
    "time": "And what time would you like?",
    "name": "Can I get your name, please?",
    "phone": "What's the best phone number to reach you?",
    "caller_id": "Can we reach you at the number you're calling from?",
    "choice": "Which of those times works for you?",
    "change": "What should I change: the service, the day, the time, the name or the phone number?",
    "code": "I can help with that. What's the confirmation code of the appointment? It's the six letters "
    "and numbers we gave you when you booked.",
}
