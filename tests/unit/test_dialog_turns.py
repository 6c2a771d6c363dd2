"""Pure dialog steps: self-corrections win, offered times are picked, several requests are planned, yes/no
answers to the agent's offers are understood."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
import yaml

from agent.dialog.booking_slots import apply_update, missing_for_booking
from agent.dialog.brain import Clause, Routing, SlotUpdate
from agent.dialog.nodes.router import answer_to_offer, holds_booking_details, plan_requests
from agent.dialog.nodes.slot_offers import spread
from agent.dialog.slot_parsing import SlotParser, when_said
from agent.dialog.state import BookingSlots, ConversationState, PendingOffer
from agent.dialog.tools.dealership import DealershipKnowledge
from agent.store.models import ServiceType

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 10, 0)  # Wednesday
SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"


@pytest.fixture(scope="module")
def parser() -> SlotParser:
    rows = yaml.safe_load(SEED.read_text())["service_types"]
    services = tuple(
        ServiceType(
            i, r["name"], r["duration_min"], r["price_min"], r["price_max"], aliases=tuple(r["aliases"])
        )
        for i, r in enumerate(rows, start=1)
    )
    return SlotParser(DealershipKnowledge(services=services, inventory=(), faq=()))


def _state(awaiting: str | None = None, **slots: object) -> ConversationState:
    booking = BookingSlots(action="book", awaiting=awaiting, **slots)
    return ConversationState(session_id="s", booking_slots=booking, turn_count=3)


@pytest.mark.parametrize(
    ("text", "day", "clock"),
    [
        ("Tuesday, no, Wednesday", date(2026, 12, 2), None),
        ("Tuesday at 2, no, Wednesday", date(2026, 12, 2), time(14, 0)),
        ("Friday at 2, no wait, 3 pm", date(2026, 11, 27), time(15, 0)),
        ("actually, make it Monday instead", date(2026, 11, 30), None),
    ],
)
def test_the_value_after_a_self_correction_wins(text: str, day: date, clock: time | None) -> None:
    said = when_said(text, NOW)
    assert (said.day, said.time) == (day, clock)


def test_a_correction_of_a_vague_time_stays_vague() -> None:
    said = when_said("Friday at 2, no, in the morning", NOW)
    assert said.day == date(2026, 11, 27) and said.time is None and said.part_of_day == "morning"


def test_everything_said_in_one_breath_is_kept(parser: SlotParser) -> None:
    update = parser.parse("this is Dana Kim, 555 014 3344, I need a tire rotation Friday at 2", _state(), NOW)
    assert update.name == "Dana Kim" and update.phone == "5550143344"
    assert update.service is not None and update.service.name == "Tire rotation"
    assert (update.day, update.time) == (date(2026, 11, 27), time(14, 0))


def test_corrected_name_and_last_digits(parser: SlotParser) -> None:
    name = parser.parse("my name is John, sorry, Jon", _state("name"), NOW)
    assert name.name == "Jon" and name.correction
    digits = parser.parse("555 014 3344, sorry, 3345", _state("phone"), NOW)
    assert digits.phone == "5550143345"
    lone_letter = parser.parse("sorry, my name is Jon with no h", _state("confirm"), NOW)
    assert lone_letter.name == "Jon" and lone_letter.service is None


def test_moves_that_are_no_values_are_flagged(parser: SlotParser) -> None:
    assert parser.parse("I don't know my number", _state("phone"), NOW).number_unknown
    assert parser.parse("what do you have?", _state("time"), NOW).suggestions == "any"
    assert parser.parse("the time", _state("change"), NOW).names_slot == "time"
    assert parser.parse("no", _state("confirm"), NOW).service is None  # "no" is in "AC not cold"


def test_email_is_never_missing_and_a_vague_time_is_never_filled() -> None:
    slots = BookingSlots(action="book", awaiting="time", appointment_type="service", service_type_id=1)
    slots.preferred_date = "2026-11-27"
    apply_update(slots, SlotUpdate(part_of_day="afternoon"))
    assert slots.preferred_time is None and slots.part_of_day == "afternoon"
    slots.preferred_time, slots.customer_name, slots.customer_phone = "14:00", "Dana Kim", "5550143344"
    assert missing_for_booking(slots) is None  # no e-mail question, ever


def _offered(*moments: str) -> BookingSlots:
    return BookingSlots(action="book", awaiting="choice", offered_times=[f"{m}:00-06:00" for m in moments])


@pytest.mark.parametrize(
    ("update", "picked"),
    [
        (SlotUpdate(choice_index=1, day=date(2026, 12, 2)), ("2026-12-01", "13:00")),  # "the 2nd one"
        (SlotUpdate(choice_index=-1), ("2026-12-02", "13:00")),
        (SlotUpdate(time=time(13, 0), day=date(2026, 11, 30)), ("2026-11-30", "13:00")),
        (SlotUpdate(day=date(2026, 12, 1)), ("2026-12-01", "13:00")),  # "the Tuesday one"
    ],
)
def test_an_offered_time_is_picked_by_ordinal_time_or_day(
    update: SlotUpdate, picked: tuple[str, str]
) -> None:
    slots = _offered("2026-11-30T13:00", "2026-12-01T13:00", "2026-12-02T13:00")
    apply_update(slots, update)
    assert (slots.preferred_date, slots.preferred_time) == picked


def test_spread_takes_first_middle_and_last() -> None:
    day = [datetime(2026, 11, 27, h, m) for h in range(12, 17) for m in (0, 30)]
    assert [m.strftime("%H:%M") for m in spread(day)] == ["12:00", "14:00", "16:30"]
    assert len(spread(day[:2])) == 2


def test_a_question_beside_a_booking_is_answered_and_kept_out_of_the_booking() -> None:
    clauses = [
        Clause("what time do you open on Saturday", "faq", 0.8),
        Clause("can I book an oil change?", "book_service", 0.9),
    ]
    routing, side, booking_text = plan_requests(
        Routing("book_service", 0.9), clauses, ConversationState(session_id="s")
    )
    assert routing.intent == "book_service"
    assert [r.text for r in side] == ["what time do you open on Saturday"]
    assert booking_text == "can I book an oil change?"


def test_two_questions_are_both_side_requests_and_one_request_is_left_alone() -> None:
    clauses = [Clause("what are your hours", "faq", 0.9), Clause("where are you located?", "faq", 0.9)]
    routing, side, booking_text = plan_requests(
        Routing("faq", 0.9), clauses, ConversationState(session_id="s")
    )
    assert routing.intent == "faq" and len(side) == 2 and booking_text is None
    single = plan_requests(Routing("faq", 0.9), [], ConversationState(session_id="s"))
    assert single == (Routing("faq", 0.9), [], None)


@pytest.mark.parametrize(
    ("kind", "said", "intent"),
    [
        ("book_service", "sure", "book_service"),
        ("book_service", "yep", "book_service"),
        ("book_service", "no thanks", "deny"),
        ("book_test_drive", "yes that's right", "book_test_drive"),
        ("anything_else", "nope", "goodbye"),
        ("anything_else", "no thanks", "goodbye"),
        ("anything_else", "sounds good", "affirm"),
    ],
)
def test_yes_and_no_answer_the_agents_last_offer(kind: str, said: str, intent: str) -> None:
    state = ConversationState(
        session_id="s",
        turn_count=4,
        pending_offer=PendingOffer(kind=kind, asked_at_turn=3),
    )
    assert answer_to_offer(said, Routing("unknown", 0.2), state).intent == intent
    stale = state.model_copy(update={"turn_count": 5})  # asked two replies ago: no longer the question
    assert answer_to_offer(said, Routing("unknown", 0.2), stale).intent == "unknown"


def test_fragments_with_booking_details_start_a_booking() -> None:
    assert holds_booking_details(SlotUpdate(day=date(2026, 11, 27), time=time(14, 0)))
    assert holds_booking_details(SlotUpdate(phone="5550143344"))
    assert not holds_booking_details(SlotUpdate(yes_no="yes"))
