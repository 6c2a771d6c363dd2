"""What the booking says: its questions, the read-back, and a way forward when a question failed twice."""

from __future__ import annotations

from datetime import datetime

from agent.dialog.booking_slots import QUESTIONS
from agent.dialog.speech_format import say_list, say_phone, say_when
from agent.dialog.state import BookingSlots
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.vehicle_match import describe_vehicle

KEYPAD = "you can type it on your phone's keypad and press the pound key when you're done"


def article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def what_is_booked(tools: DealershipTools, slots: BookingSlots) -> str:
    """'an oil change', 'a test drive of the 2024 Toyota RAV4'."""
    if slots.appointment_type == "test_drive":
        vehicle = tools.vehicle_by_id(slots.inventory_id)
        return f"a test drive of {describe_vehicle(vehicle)}" if vehicle else "a test drive"
    return article((slots.service_type or "service visit").lower())


def question(tools: DealershipTools, slots: BookingSlots, missing: str) -> str:
    """The question for the next missing detail, worded for what is known so far."""
    if missing == "day":
        return f"What day works best for {what_is_booked(tools, slots)}?"
    listed = [v for v in map(tools.vehicle_by_id, slots.candidate_ids) if v is not None]
    if missing == "vehicle" and len(listed) > 1:
        cars = [f"the {v.year} {v.make} {v.model}{f' {v.trim}' if v.trim else ''}" for v in listed]
        return f"Which one would you like to test drive: {say_list(cars, 'or')}?"
    if missing == "action" and slots.customer_name and not slots.customer_phone:
        first = slots.customer_name.split(" ")[0]
        return f"Thanks, {first}. Is that for a service appointment, or a test drive?"
    return QUESTIONS[missing]


def read_back(tools: DealershipTools, slots: BookingSlots, moment: datetime, *, again: int = 0) -> str:
    """Everything the booking will write, said back before anything is written (a third time, with help)."""
    email = f", or by e-mail at {slots.customer_email}" if slots.customer_email else ""
    summary = (
        f"{what_is_booked(tools, slots)} {say_when(moment, tools.now().date())}, for {slots.customer_name}, "
        f"and we'll reach you at {say_phone(slots.customer_phone or '')}{email}"
    )
    if again >= 2:
        return (
            f"Let me read it back once more: {summary}. Just say yes to book it, or tell me what to change."
        )
    lead = "Sorry, I didn't catch that. " if again == 1 else ""
    return f"{lead}Let me read that back: {summary}. Is that right?"


def way_forward(tools: DealershipTools, slots: BookingSlots, missing: str, caller_id: str | None) -> str:
    """Instead of the same question a third time: something the caller can do (not for day and time,
    where open times are offered instead)."""
    if missing == "phone":
        if caller_id:
            slots.awaiting = "caller_id"
            return f"Sorry, I'm having trouble with the number. Can we reach you at {say_phone(caller_id)}?"
        return f"Sorry, I'm having trouble with the number. If it's easier, {KEYPAD}."
    if missing == "name":
        return "Sorry, I didn't get your name. Could you spell it for me, letter by letter?"
    if missing == "service":
        names = [article(s.name.lower()) for s in tools.knowledge.services[:5]]
        return f"Sorry, I didn't catch that. I can book {say_list(names, 'or')}, for example. Which one?"
    if missing == "vehicle":
        cars = [f"the {v.make} {v.model}" for v in tools.knowledge.inventory[:3]]
        return f"Sorry, which car was that? For example {say_list(cars, 'or')}. A make and model is enough."
    if missing == "action":
        return "Sorry, I didn't catch that. Just say service for a service visit, or test drive to try a car."
    return f"Sorry, I didn't catch that. {QUESTIONS.get(missing, '')}".strip()


def number_unknown(slots: BookingSlots, caller_id: str | None) -> str:
    """ "I don't know my number": the number they are calling from, or the keypad."""
    if caller_id:
        slots.awaiting = "caller_id"
        return f"No problem. Can we reach you at the number you're calling from, {say_phone(caller_id)}?"
    slots.awaiting = "phone"
    return f"No problem. When you have it, just say it, or {KEYPAD}."
