"""Phone number normalisation: every way a caller or caller-id spells a number lands on one key."""

from __future__ import annotations

import pytest

from agent.store.phone_numbers import (
    InvalidPhoneNumber,
    display_phone,
    normalize_phone,
    require_phone,
    speakable_phone,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "raw",
    [
        "+1 (555) 014-2233",
        "+1 555 014 2233",
        "5550142233",
        "15550142233",
        "1-555-014-2233",
        "555.014.2233",
        "(555) 014 2233",
        "  555-014-2233  ",
        "001 555 014 2233",
        "tel:+15550142233",
        "sip:+15550142233@pbx.example;user=phone",
        "555-014-2233 ext. 12",
        "555 014 2233 x7",
    ],
)
def test_us_spellings_normalise_to_one_e164_key(raw: str) -> None:
    assert normalize_phone(raw) == "+15550142233"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "12345",
        "555014223",  # nine digits
        "555014223344",  # twelve digits, no plus
        "25550142233",  # eleven digits not starting with the US country code
        "0550142233",  # area code cannot start with 0
        "1155014223",  # ... nor with 1
        "1-800-FLOWERS",
        "call me maybe",
        "'; DROP TABLE customers; --",
        "+1 555 014 22",
    ],
)
def test_non_numbers_are_rejected(raw: str) -> None:
    assert normalize_phone(raw) is None
    with pytest.raises(InvalidPhoneNumber):
        require_phone(raw)


def test_none_is_not_a_number() -> None:
    assert normalize_phone(None) is None


def test_international_numbers_keep_their_country_code() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("0044 20 7946 0958") == "+442079460958"
    assert normalize_phone("+49 301") is None  # too short to be a full number


def test_invalid_phone_is_a_value_error() -> None:
    # Callers that only know ValueError (HTTP validation, dialog tools) still catch it.
    with pytest.raises(ValueError, match="not a phone number"):
        require_phone("nope")


def test_display_and_speakable_forms() -> None:
    assert display_phone("+15550142233") == "(555) 014-2233"
    assert display_phone("+442079460958") == "+442079460958"
    assert speakable_phone("+15550142233") == "5 5 5, 0 1 4, 2 2 3 3"
    assert speakable_phone("+442079460958") == "4 4 2, 0 7 9, 4 6 0, 9 5 8"
