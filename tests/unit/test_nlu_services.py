"""Which service a caller asks for, and whether they want a service visit or a test drive."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.dialog.nlu.services import detect_appointment_kind, match_service
from agent.store.models import ServiceType

pytestmark = pytest.mark.unit

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"

SERVICES = [
    ServiceType(1, "Oil change", 45, 49, 89, aliases=("oil and filter", "lube", "synthetic oil change")),
    ServiceType(2, "Tire rotation", 30, 25, 40, aliases=("rotate tires",)),
    ServiceType(3, "Brake pad replacement", 120, 189, 349, aliases=("brake pads", "new brakes", "brake job")),
    ServiceType(4, "Brake inspection", 30, 0, 0, aliases=("brakes", "brake check", "squeaky brakes")),
    ServiceType(5, "AC service", 60, 129, 199, aliases=("air conditioning", "a/c recharge")),
    ServiceType(6, "Diagnostic", 60, 99, 149, aliases=("check engine light", "warning light")),
    ServiceType(7, "Battery replacement", 45, 149, 279, aliases=("dead battery", "new battery")),
    ServiceType(8, "Wheel alignment", 60, 99, 149, aliases=("alignment", "car pulls to one side")),
    ServiceType(9, "State inspection", 45, 25, 40, aliases=("emissions test", "inspection sticker")),
    ServiceType(10, "Multi-point inspection", 30, 0, 0, aliases=("general checkup", "check up")),
]

CASES = [
    ("brake pads", "Brake pad replacement"),
    ("I need new brakes", "Brake pad replacement"),
    ("my brakes are squeaking", "Brake inspection"),
    ("rotate my tires", "Tire rotation"),
    ("can I get my tyres rotated", "Tire rotation"),
    ("my AC is blowing warm", "AC service"),
    ("can you look at the a/c", "AC service"),
    ("check engine light is on", "Diagnostic"),
    ("oil change", "Oil change"),
    ("I need an oil chnage", "Oil change"),
    ("synthetic oil change please", "Oil change"),
    ("the car won't start", "Battery replacement"),
    ("it's pulling to the left", "Wheel alignment"),
    ("I need my inspection sticker", "State inspection"),
    ("just a general check-up", "Multi-point inspection"),
    ("can you give it a check up before my road trip", "Multi-point inspection"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_match_service(text: str, expected: str) -> None:
    found = match_service(text, SERVICES)
    assert found is not None, text
    service, score = found
    assert service.name == expected
    assert 0.0 < score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "I want to buy a truck",
        "hello",
        "do you have any red cars",
        "",
        "what are your hours",
        "Next Tuesday, No, Next Wednesday, Up 3 in the afternoon.",  # a real call's "at 3": no "check up"
    ],
)
def test_match_service_none_for_unrelated_text(text: str) -> None:
    assert match_service(text, SERVICES) is None


def test_match_service_with_no_services() -> None:
    assert match_service("oil change", []) is None


@pytest.mark.skipif(not SEED.exists(), reason="seed data not present")
def test_match_service_against_the_seed_catalogue() -> None:
    rows = yaml.safe_load(SEED.read_text())["service_types"]
    services = [
        ServiceType(
            i, r["name"], r["duration_min"], r["price_min"], r["price_max"], aliases=tuple(r["aliases"])
        )
        for i, r in enumerate(rows, start=1)
    ]
    names = {s.name.lower() for s in services}
    for text, wanted in [
        ("rotate my tires", "tire rotation"),
        ("brake pads", "brake pad replacement"),
        ("oil change", "oil change"),
        ("my AC is blowing warm", "air conditioning"),
        ("check engine light is on", "check engine"),
        ("I need to tie a rotation Friday at 2", "tire rotation"),  # Whisper on a real SIP call of the corpus
    ]:
        found = match_service(text, services)
        assert found is not None, text
        assert wanted in found[0].name.lower(), (text, found[0].name, names)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'd like to test drive the RAV4", "test_drive"),
        ("can I take it for a spin", "test_drive"),
        ("cancel my test-drive", "test_drive"),
        ("I need an oil change", "service"),
        ("my brakes are grinding", "service"),
        ("the car won't start", "service"),
        ("hello", None),
        ("what are your hours", None),
    ],
)
def test_detect_appointment_kind(text: str, expected: str | None) -> None:
    assert detect_appointment_kind(text) == expected


def test_short_aliases_do_not_match_inside_other_words() -> None:
    services = [
        ServiceType(1, "Air conditioning service", 60, 129, 199, aliases=("AC service", "AC recharge")),
        ServiceType(2, "Brake inspection", 30, 0, 0),
    ]
    assert match_service("actually, make it Monday instead", services) is None
    matched = match_service("my AC needs a recharge", services)
    assert matched is not None and matched[0].id == 1
