"""Phone numbers, e-mail addresses and names as callers say them."""

from __future__ import annotations

import pytest

from agent.dialog.nlu.contacts import parse_email, parse_phone
from agent.dialog.nlu.names import parse_name

pytestmark = pytest.mark.unit

PHONES = [
    ("five five five, oh one four, two two three three", "5550142233"),
    ("five five five zero one four twenty two thirty three", "5550142233"),
    ("double five five oh one four two two three three", "5550142233"),
    ("triple five oh one four twenty two thirty three", "5550142233"),
    ("555 oh one four 2233", "5550142233"),
    ("my number is 555-014-2233", "5550142233"),
    ("(555) 014-2233", "5550142233"),
    ("555.014.2233", "5550142233"),
    ("5550142233", "5550142233"),
    ("plus one 555 014 2233", "5550142233"),
    ("+1 555 014 2233", "5550142233"),
    ("1-555-014-2233", "5550142233"),
    ("one eight hundred five five five one two one two", "8005551212"),
    ("five hundred fifty five oh one four twenty two thirty three", "5550142233"),
    ("area code five five five, then oh one four two two three three", "5550142233"),
    ("it's for my 2019 civic and my number is 555 014 2233", "5550142233"),
    ("555, A14, 1234.", "5550141234"),  # "oh one four": Whisper wrote the "oh" as a letter
    ("call 555-014-1234 a 2", "5550141234"),  # a whole number already: the "a" after it is a word
]


@pytest.mark.parametrize(("text", "expected"), PHONES)
def test_parse_phone(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "555 1234",
        "I need an oil change",
        "",
        "tuesday at ten thirty",
        "a 2022 camry under 25000",
        "one two three",
        "0000000000",
        "5 5 5 0 1 4 2 2 3 3 4 4",
    ],
)
def test_parse_phone_rejects_non_numbers(text: str) -> None:
    assert parse_phone(text) is None


EMAILS = [
    ("john dot smith at gmail dot com", "john.smith@gmail.com"),
    ("j smith at yahoo.com", "jsmith@yahoo.com"),
    ("j o h n at gmail dot com", "john@gmail.com"),
    ("my email is john smith at g mail dot com thanks", "johnsmith@gmail.com"),
    ("John.Smith@Gmail.com", "john.smith@gmail.com"),
    ("it's mary underscore lee seventy two at hotmail dot co dot uk", "mary_lee72@hotmail.co.uk"),
    ("sure it is bob dash jones at outlook dot com", "bob-jones@outlook.com"),
    ("email me at bob at aol dot com", "bob@aol.com"),
]


@pytest.mark.parametrize(("text", "expected"), EMAILS)
def test_parse_email(text: str, expected: str) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    "text", ["I will be there at ten", "meet me at the dealership", "", "john smith", "at gmail dot com"]
)
def test_parse_email_rejects_non_addresses(text: str) -> None:
    assert parse_email(text) is None


NAMES = [
    ("my name is John Smith", False, "John Smith"),
    ("this is Maria Garcia", False, "Maria Garcia"),
    ("it's Dave", False, "Dave"),
    ("name's Bob Lee", False, "Bob Lee"),
    ("my name is john smith and I need an oil change", False, "John Smith"),
    ("hi this is dave calling about my car", False, "Dave"),
    ("you can call me Kim", False, "Kim"),
    ("John Smith", True, "John Smith"),
    ("john smith", True, "John Smith"),
    ("yeah it's o'brien", True, "O'Brien"),
    ("sure, Kevin McDonald", True, "Kevin McDonald"),
    ("um Mary-Jane Watson", True, "Mary-Jane Watson"),
    ("Kim, K I M", True, "Kim"),
    ("K I M", True, "Kim"),
    ("K-I-M", True, "Kim"),
    ("K. I. M.", True, "Kim"),
    ("my name is Dana Kim, K I M", False, "Dana Kim"),
    ("Smith, that's S M Y T H", True, "Smyth"),
    ("it's Jon, J O N", True, "Jon"),
    ("sorry, my name is Jon with no h", False, "Jon"),
]


@pytest.mark.parametrize(("text", "expecting", "expected"), NAMES)
def test_parse_name(text: str, expecting: bool, expected: str) -> None:
    assert parse_name(text, expecting_name=expecting) == expected


NOT_NAMES = [
    ("yes", True),
    ("no", True),
    ("tuesday", True),
    ("oil change", True),
    ("I need", True),
    ("12", True),
    ("John Smith", False),  # a bare name only counts when the agent just asked for one
    ("I'm looking for a truck", False),
    ("it's broken down again", False),
    ("it's for my wife", False),
    ("this is about my appointment", False),
    ("my name is Mary Jane Van Der Berg", False),  # more than four words
    ("", True),
    ("h", True),  # a lone letter ("Jon with no h") is no name
    ("K", True),
]


@pytest.mark.parametrize(("text", "expecting"), NOT_NAMES)
def test_parse_name_rejects_non_names(text: str, expecting: bool) -> None:
    assert parse_name(text, expecting_name=expecting) is None


@pytest.mark.parametrize(
    ("heard", "name", "expected"),
    [
        ("John Datsmith at gmail.com.", "John Smith", "john.smith@gmail.com"),
        ("john dott smith at gmail dot com", "John Smith", "john.smith@gmail.com"),
        ("johnsmith at gmail dot com", "John Smith", "johnsmith@gmail.com"),  # no dot said: none added
        ("John Datsmith at gmail.com.", None, "johndatsmith@gmail.com"),  # no name to go by
        ("peter dat brown at yahoo dot com", "John Smith", "peterdatbrown@yahoo.com"),  # someone else
    ],
)
def test_a_misheard_dot_between_the_callers_names_is_repaired(
    heard: str, name: str | None, expected: str
) -> None:
    assert parse_email(heard, name=name) == expected


@pytest.mark.parametrize(
    "heard",
    [
        "500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500",
        "500, 500, 500, 5",  # ten digits, but a loop
        "my number is 500 500 500 5",
        "five hundred, five hundred, five hundred, five",
        "14, 14, 14, 14, 1",
    ],
)
def test_a_number_repeated_in_a_loop_is_no_phone_number(heard: str) -> None:
    assert parse_phone(heard) is None


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("five five five, five five five, five five five five", "5555555555"),  # single digits may repeat
        ("555 555 5555", "5555555555"),
        ("5550143344", "5550143344"),  # keypad digits
    ],
)
def test_repeated_single_digits_are_still_a_number(heard: str, expected: str) -> None:
    assert parse_phone(heard) == expected
