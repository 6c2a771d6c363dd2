"""Unit tests of the lenient parser that reads small-LLM JSON into the understanding and answer models."""

from __future__ import annotations

import pytest

from agent.dialog.llm import response_format
from agent.dialog.llm_parsing import (
    BookingExtraction,
    LlmOutputError,
    SpokenAnswer,
    Understanding,
    extract_json_object,
    normalize_intent,
    parse_json_answer,
)

pytestmark = pytest.mark.unit


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


def test_understanding_reads_intent_aliases_and_drops_nullish_details() -> None:
    understood = Understanding.model_validate(
        {"intent": "Book Service", "service": "Oil change", "when": "null", "name": "", "extra": 1}
    )
    assert understood == Understanding(intent="book_service", service="Oil change")
    assert Understanding.model_validate({"intent": "buy_pizza"}).intent == "unknown"


def test_understanding_as_a_booking_takes_its_type_and_yes_no_from_the_intent() -> None:
    drive = Understanding(intent="book_test_drive", vehicle="RAV4", when="Friday at 2").booking()
    assert (drive.appointment_type, drive.vehicle, drive.date_text) == ("test_drive", "RAV4", "Friday at 2")
    assert Understanding(intent="affirm").booking().confirm == "yes"
    assert Understanding(intent="deny").booking().confirm == "no"


@pytest.mark.parametrize(
    ("data", "known", "reply"),
    [
        ({"reply": "We're open until 6."}, True, "We're open until 6."),
        ({"reply": "NOT_IN_FACTS"}, False, None),
        ({"reply": "not in facts"}, False, None),
        ({"reply": ""}, False, None),
        ({"known": False, "reply": "Maybe on Tuesdays."}, False, "Maybe on Tuesdays."),
        ({}, False, None),
    ],
)
def test_spoken_answer_is_known_only_with_words_that_are_not_the_marker(
    data: dict[str, object], known: bool, reply: str | None
) -> None:
    answer = SpokenAnswer.model_validate(data)
    assert (answer.known, answer.reply) == (known, reply)


def test_parse_json_answer_reads_fenced_json_and_rejects_prose() -> None:
    assert parse_json_answer('```json\n{"intent": "faq",}\n```') == {"intent": "faq"}
    with pytest.raises(LlmOutputError):
        parse_json_answer("Sure, I can help you book an oil change!")


def test_the_output_schema_goes_to_llama_cpp_as_a_grammar_and_to_hosted_endpoints_as_json_schema() -> None:
    schema = {"type": "object", "properties": {"intent": {"type": "string"}}, "required": ["intent"]}
    assert response_format(schema, llama_cpp=True) == {"type": "json_object", "schema": schema}
    hosted = response_format(schema, llama_cpp=False)
    assert hosted["type"] == "json_schema" and hosted["json_schema"]["schema"] == schema
