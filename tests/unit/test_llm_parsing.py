"""Unit tests of the lenient parser that reads small-LLM output into routing and booking models."""

from __future__ import annotations

import pytest

from agent.dialog.llm_parsing import (
    BookingExtraction,
    LlmOutputError,
    RouteDecision,
    clamp_confidence,
    extract_json_object,
    normalize_intent,
    parse_booking_text,
    parse_route_text,
    tool_arguments,
)

pytestmark = pytest.mark.unit

TOOL = "update_booking"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"intent": "faq", "confidence": 0.9}', {"intent": "faq", "confidence": 0.9}),
        ('```json\n{"intent": "cancel", "confidence": 0.8}\n```', {"intent": "cancel", "confidence": 0.8}),
        (
            'Sure! Here is the result: {"intent": "inventory", "confidence": 0.7} Anything else?',
            {"intent": "inventory", "confidence": 0.7},
        ),
        ("{'intent': 'goodbye', 'confidence': 0.95}", {"intent": "goodbye", "confidence": 0.95}),
        ('{"intent": "affirm", "confidence": 1,}', {"intent": "affirm", "confidence": 1}),
        ("{'name': 'x', 'flag': true, 'other': null}", {"name": "x", "flag": True, "other": None}),
        (
            '<tool_call>\n{"name": "update_booking", "arguments": {"name": "Ann"}}\n</tool_call>',
            {"name": "update_booking", "arguments": {"name": "Ann"}},
        ),
        ('{"note": "braces } inside { strings", "n": 1}', {"note": "braces } inside { strings", "n": 1}),
        ('not json {broken: } then {"ok": true}', {"ok": True}),
    ],
)
def test_extract_json_object_finds_first_parseable_object(text: str, expected: dict[str, object]) -> None:
    assert extract_json_object(text) == expected


@pytest.mark.parametrize("text", ["", "I think the caller wants to book.", "[1, 2, 3]", "{unclosed: 1"])
def test_extract_json_object_returns_none_without_an_object(text: str) -> None:
    assert extract_json_object(text) is None


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("faq", "faq"),
        ("  Book Service ", "book_service"),
        ("book-test-drive", "book_test_drive"),
        ("test_drive", "book_test_drive"),
        ("human", "escalation"),
        ("yes", "affirm"),
        ("order_pizza", "unknown"),
        (None, "unknown"),
        (3, "unknown"),
    ],
)
def test_normalize_intent_maps_labels_onto_known_intents(label: object, expected: str) -> None:
    assert normalize_intent(label) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.42, 0.42),
        (-3, 0.0),
        (1.0, 1.0),
        (85, 0.85),
        ("85%", 0.85),
        ("0.6", 0.6),
        (250, 1.0),
        ("high", 0.0),
        (None, 0.0),
        (True, 0.0),
        (float("nan"), 0.0),
    ],
)
def test_clamp_confidence_keeps_zero_to_one(value: object, expected: float) -> None:
    assert clamp_confidence(value) == pytest.approx(expected)


def test_route_decision_coerces_unknown_intents_and_clamps() -> None:
    decision = RouteDecision.model_validate({"intent": "buy_pizza", "confidence": 7})
    assert decision == RouteDecision(intent="unknown", confidence=0.07)


def test_parse_route_text_reads_json_with_prose() -> None:
    text = 'The intent is clearly booking.\n```json\n{"intent": "book_service", "confidence": "90%"}\n```'
    assert parse_route_text(text) == RouteDecision(intent="book_service", confidence=0.9)


def test_parse_route_text_accepts_a_bare_intent_name() -> None:
    assert parse_route_text("escalation").intent == "escalation"


def test_parse_route_text_rejects_garbage() -> None:
    with pytest.raises(LlmOutputError):
        parse_route_text("I am not sure what you mean, faq or inventory?")


def test_booking_extraction_normalises_nullish_values() -> None:
    extraction = BookingExtraction.model_validate(
        {
            "appointment_type": "Service",
            "service": " oil change ",
            "vehicle": "null",
            "date_text": "None",
            "name": "",
            "phone": 5551234567,
            "email": "N/A",
            "confirm": None,
            "unexpected": "ignored",
        }
    )
    assert extraction == BookingExtraction(
        appointment_type="service", service="oil change", phone="5551234567"
    )


@pytest.mark.parametrize(
    ("confirm", "expected"),
    [
        ("yes", "yes"),
        ("Yes.", "yes"),
        (True, "yes"),
        ("no", "no"),
        (False, "no"),
        ("maybe", None),
        ("", None),
    ],
)
def test_booking_extraction_reads_confirmation(confirm: object, expected: str | None) -> None:
    assert BookingExtraction.model_validate({"confirm": confirm}).confirm == expected


def test_booking_extraction_maps_test_drive_wording() -> None:
    extraction = BookingExtraction.model_validate({"appointment_type": "test drive", "vehicle": "RAV4"})
    assert (extraction.appointment_type, extraction.vehicle) == ("test_drive", "RAV4")


def test_parse_booking_text_reads_a_qwen_tool_call() -> None:
    text = (
        "<tool_call>\n"
        '{"name": "update_booking", "arguments": {"appointment_type": "service", "service": "oil change", '
        '"date_text": "next Tuesday at 10 in the morning", "name": "John Smith", "phone": null, '
        '"email": null, "vehicle": null, "confirm": null}}\n'
        "</tool_call>"
    )
    assert parse_booking_text(text, TOOL) == BookingExtraction(
        appointment_type="service",
        service="oil change",
        date_text="next Tuesday at 10 in the morning",
        name="John Smith",
    )


def test_parse_booking_text_reads_string_encoded_arguments() -> None:
    text = (
        '{"name": "update_booking", "arguments": "{\\"name\\": \\"Maria Lopez\\", \\"confirm\\": \\"no\\"}"}'
    )
    assert parse_booking_text(text, TOOL) == BookingExtraction(name="Maria Lopez", confirm="no")


def test_parse_booking_text_reads_bare_arguments() -> None:
    text = "Extracted: {'service': 'tire rotation', 'date_text': 'tomorrow afternoon'}"
    assert parse_booking_text(text, TOOL) == BookingExtraction(
        service="tire rotation", date_text="tomorrow afternoon"
    )


def test_parse_booking_text_rejects_prose() -> None:
    with pytest.raises(LlmOutputError):
        parse_booking_text("Sure, I can help you book an oil change!", TOOL)


def test_tool_arguments_unwraps_openai_style_function_objects() -> None:
    obj = {"type": "function", "function": {"name": TOOL, "arguments": '{"email": "a@b.co"}'}}
    assert tool_arguments(obj, TOOL) == {"email": "a@b.co"}
