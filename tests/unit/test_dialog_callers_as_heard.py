"""Dialog steps for callers as a speech recogniser writes them: near-miss yeses at a yes/no question, a name
or a number corrected in part, a car corrected inside a sentence, "same time", codes read out letter by
letter, a garbled question beside a clear one."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
import yaml

from agent.dialog.booking_slots import apply_update, corrected_name
from agent.dialog.brain import Clause, Routing
from agent.dialog.nlu.confirmations import parse_yes_no
from agent.dialog.nlu.contacts import with_name_dot
from agent.dialog.nlu.names import parse_name
from agent.dialog.nlu.services import match_service
from agent.dialog.nodes.router import answer_to_booking_question, plan_requests
from agent.dialog.slot_parsing import SlotParser, parse_code
from agent.dialog.state import BookingSlots, ConversationState
from agent.dialog.tools.dealership import DealershipKnowledge, same_person
from agent.dialog.vehicle_match import describe_vehicle, find_vehicle
from agent.store.models import InventoryVehicle, ServiceType

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 10, 0)  # Wednesday
SEED = yaml.safe_load((Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml").read_text())
SERVICES = tuple(
    ServiceType(i, r["name"], r["duration_min"], r["price_min"], r["price_max"], aliases=tuple(r["aliases"]))
    for i, r in enumerate(SEED["service_types"], start=1)
)
CARS = tuple(
    InventoryVehicle(
        i,
        r["stock_number"],
        r["make"],
        r["model"],
        r["year"],
        r["trim"],
        r["color"],
        r["price"],
        r["mileage"],
        r["is_new"],
        r.get("is_available", True),
        r.get("body_style", ""),
    )
    for i, r in enumerate(SEED["inventory"], start=1)
)


@pytest.fixture(scope="module")
def parser() -> SlotParser:
    return SlotParser(DealershipKnowledge(services=SERVICES, inventory=CARS, faq=()))


def _state(awaiting: str | None = None, **slots: object) -> ConversationState:
    booking = BookingSlots(action="book", awaiting=awaiting, **slots)
    return ConversationState(session_id="s", booking_slots=booking, turn_count=3)


@pytest.mark.parametrize(
    "heard",
    [
        "Yay!",
        "Corrector.",
        "Yeh.",
        "Yeah, yeah",
        "Correct.",
        "yup",
        "Yappo.",
        "Yeee!",
        "Yeehaw!",  # "Yes." in the tebukuro voice, each heard so on a real call
        "Yee-haw.",
        "Yeeza!",
        "Yai-e-e.",
        "Yesss.",
        "Yepo.",
        "Correcta",
    ],
)
def test_a_yes_as_the_recogniser_writes_it_is_a_yes_when_yes_or_no_was_asked(heard: str) -> None:
    assert parse_yes_no(heard, asked=True) == "yes"


@pytest.mark.parametrize(
    "heard", ["Now.", "Know.", "Nah.", "Naw", "Correction.", "Collect.", "Monday", "Yet.", "Year.", "You."]
)
def test_no_like_words_are_never_taken_for_yes(heard: str) -> None:
    assert parse_yes_no(heard, asked=True) != "yes"


def test_a_near_miss_is_no_yes_when_nothing_was_asked() -> None:
    assert parse_yes_no("Yay!") is None and parse_yes_no("Corrector.") is None


def test_yay_at_the_read_back_confirms_whatever_the_brain_took_it_for() -> None:
    at_read_back = _state("confirm", appointment_type="service")
    assert answer_to_booking_question("Yay!", Routing("greeting", 0.5), at_read_back).intent == "affirm"
    assert answer_to_booking_question("Now.", Routing("unknown", 0.3), at_read_back).intent == "unknown"
    idle = ConversationState(session_id="s")
    assert answer_to_booking_question("Yay!", Routing("greeting", 0.5), idle).intent == "greeting"


def test_a_garbled_word_at_the_read_back_is_not_understood_rather_than_a_hello() -> None:
    # over the phone "Yes." came out "Yyousa.", which the brain took for a greeting: the read-back then started
    # with "Hi there! I can answer questions ..."; not understood, the call hears it again with Whisper base
    at_read_back = _state("confirm", appointment_type="service")
    assert answer_to_booking_question("Yyousa.", Routing("greeting", 0.6), at_read_back).intent == "unknown"
    assert answer_to_booking_question("Hello?", Routing("greeting", 0.9), at_read_back).intent == "greeting"


@pytest.mark.parametrize(
    "said",
    ["Five five five, zero one four, two five, sorry, two six one eight.", "555, 014, 25, Sorry, 2618."],
)
def test_a_number_corrected_while_it_is_said(parser: SlotParser, said: str) -> None:
    assert parser.parse(said, _state("phone"), NOW).phone == "5550142618"


@pytest.mark.parametrize(
    ("held", "said", "part", "now"),
    [
        ("Jon Baker", "Jon", None, "Jon Baker"),
        ("John Baker", "Jon", None, "Jon Baker"),
        ("Sam Wilson", "Watson", "last", "Sam Watson"),
        ("Sam Wilson", "Watson", None, "Sam Watson"),
        ("Dana Kim", "Jon", None, "Jon Kim"),
        ("Dana Kim", "Jon Baker", None, "Jon Baker"),
        (None, "Kim", None, "Kim"),
    ],
)
def test_a_correction_of_one_part_of_the_name_keeps_the_rest(
    held: str | None, said: str, part: str | None, now: str
) -> None:
    assert corrected_name(held, said, part) == now


def test_the_last_name_said_as_such_changes_only_the_last_name(parser: SlotParser) -> None:
    state = _state("confirm", customer_name="Sam Wilson")
    update = parser.parse("Sorry, the last name is Watson, not Wilson.", state, NOW)
    assert (update.name, update.name_part) == ("Watson", "last")
    slots = state.booking_slots.model_copy()
    assert apply_update(slots, update) and slots.customer_name == "Sam Watson"
    spelled = parser.parse("Sorry, my name is John, J-O-N, with no H.", _state("confirm"), NOW)
    assert spelled.name == "Jon"


def test_a_family_name_that_is_a_car_make_is_a_name() -> None:
    assert parse_name("Henry Ford.", expecting_name=True) == "Henry Ford"
    assert parse_name("I want a Ford", expecting_name=True) is None


@pytest.mark.parametrize(
    ("said", "name"),
    [
        (
            "Anna, Brooke.",
            "Anna Brooke",
        ),  # a real SIP call: the read-back said "for Anna," and it was booked so
        ("Karen, Scott,", "Karen Scott"),
        ("John, thanks.", "John"),  # not a capitalised name
        ("Anna, yes.", "Anna"),
        ("Lotha, King.", "Lotha"),  # no common first name: the second opinion decides
        ("Anna, Brooke Smith.", "Anna"),  # more than one word after the comma: not joined
        ("Anna, Brooke, B R O O K S.", "Anna Brooks"),  # and spelled after it
    ],
)
def test_a_full_name_with_a_comma_in_it_is_the_whole_name(said: str, name: str) -> None:
    assert parse_name(said, expecting_name=True) == name


@pytest.mark.parametrize(
    ("said", "stock"),
    [
        ("I'd like to test, drive the Sienna on Friday at 4 in the afternoon.", "T26150"),
        ("Can I test drive the Tacoma? A no, the Tundra, on Monday at 5 in the afternoon.", "T26142"),
        ("Can I test drive the Tacoma, uh, no, the Tundra, on Monday at 5 in the afternoon?", "T26142"),
    ],
)
def test_the_car_named_is_the_car_booked(parser: SlotParser, said: str, stock: str) -> None:
    update = parser.parse(said, ConversationState(session_id="s"), NOW)
    assert update.appointment_type == "test_drive"
    assert update.vehicle is not None and update.vehicle.stock_number == stock
    assert update.time == time(16 if "Sienna" in said else 17, 0)


def test_a_car_is_read_back_with_its_colour_after_it() -> None:
    tacoma = next(car for car in CARS if car.color == "Underground")
    assert describe_vehicle(tacoma) == "the 2026 Toyota Tacoma TRD Off-Road in Underground"


def test_same_time_and_same_day(parser: SlotParser) -> None:
    moved = parser.parse("I need to move that to Wednesday, December 2nd, same time.", _state(), NOW)
    assert moved.day == date(2026, 12, 2) and moved.time is None and moved.same_time and not moved.same_day
    assert parser.parse("same day, but at 4", _state(), NOW).same_day


@pytest.mark.parametrize(
    ("said", "code"),
    [("X D M D U A", "XDMDUA"), ("it's K 7 P 2 Q 9", "K7P2Q9"), ("K7P2Q9", "K7P2Q9"), ("Friday", None)],
)
def test_a_confirmation_code_read_out(said: str, code: str | None) -> None:
    assert parse_code(said) == code


def test_the_digits_of_a_number_are_no_words_of_a_service() -> None:
    said = "This is Dana Kim, five five five, zero one four, three three four four, I need a tire rotation"
    for services in (SERVICES, tuple(reversed(SERVICES))):
        found = match_service(said, services)
        assert found is not None and found[0].name == "Tire rotation"


def test_a_garbled_question_beside_a_clear_one_is_asked_too() -> None:
    clauses = [
        Clause("What are your sale, how your mom's Saturday", "unknown", 0.2),
        Clause("where are you located?", "faq", 0.99),
    ]
    routing, side, booking_text = plan_requests(
        Routing("unknown", 0.15), clauses, ConversationState(session_id="s")
    )
    assert routing.intent == "faq" and booking_text is None
    assert [(s.text, s.intent) for s in side] == [(c.text, "faq") for c in clauses]


def test_a_first_name_alone_is_the_customer_on_file() -> None:
    assert same_person("Maria", "Maria Gonzalez") and same_person("maria gonzalez", "Maria Gonzalez")
    assert same_person(None, "Maria Gonzalez") and same_person("Bob", None)
    assert not same_person("Bob Stone", "Maria Gonzalez") and not same_person("Maria Lopez", "Maria Gonzalez")


def test_a_spoken_dot_between_the_callers_names_is_a_dot() -> None:
    assert with_name_dot("lisadarpmore@gmail.com", "Lisa Moore") == "lisa.moore@gmail.com"
    assert with_name_dot("johnsmith@gmail.com", "John Smith") == "johnsmith@gmail.com"


def test_a_garbled_guess_at_reschedule_beside_a_question_is_no_booking_to_change() -> None:
    clauses = [
        Clause("Do you have a shuttle", "faq", 0.96),
        Clause("can I work at Irotation on Friday, and tell him the morning?", "reschedule", 0.19),
    ]
    routing, side, booking_text = plan_requests(
        Routing("faq", 0.68), clauses, ConversationState(session_id="s")
    )
    assert routing.intent == "provide_info" and [s.text for s in side] == ["Do you have a shuttle"]
    assert booking_text == clauses[1].text
    sure = [clauses[0], Clause("can I move my appointment to Friday", "reschedule", 0.99)]
    assert (
        plan_requests(Routing("faq", 0.6), sure, ConversationState(session_id="s"))[0].intent == "reschedule"
    )


def test_a_name_said_with_the_address_repairs_its_misheard_dot(parser: SlotParser) -> None:
    # "Lisa Moore, and my email is lisa dot moore at gmail dot com" over the phone band, as tiny.en heard it
    said = "Lisa Moore, and my email is LisaDarp Moore at gmail.com."
    update = parser.parse(said, _state("name"), NOW)
    assert update.name == "Lisa Moore"
    assert update.email == "lisa.moore@gmail.com"


def test_the_cnr_is_the_sienna() -> None:
    """Whisper's "the CNR" for "the Sienna" (two voices, real calls): the car, not "Which car?"."""
    heard = "Hi, this is Jason Lee. I'd like to test drive the CNR on Friday at 4 in the afternoon."
    car = find_vehicle(heard, CARS)
    assert car is not None and car.model == "Sienna"
