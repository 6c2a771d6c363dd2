"""Phone numbers: normalising whatever a caller or caller-id gives us to one E.164 form (US by default)."""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D+")
# Extensions are not part of the number we key customers on: "555 014 2233 ext 12", "x12", "#12".
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
# Letters other than an extension marker mean this is not a phone number (vanity numbers are not supported).
_LETTERS = re.compile(r"[A-Za-z]")
_SIP_PREFIX = re.compile(r"^(?:sips?|tel):", re.IGNORECASE)

_US_COUNTRY_CODE = "1"
_MIN_INTERNATIONAL_DIGITS = 8
_MAX_E164_DIGITS = 15


class InvalidPhoneNumber(ValueError):
    """The text cannot be read as a phone number."""


def normalize_phone(raw: str | None) -> str | None:
    """Return the number as E.164 (``+15550142233``), or None when it is not a usable phone number.

    Accepts '+1 (555) 014-2233', '555.014.2233', '5550142233', '15550142233', '001 555 014 2233',
    'tel:+15550142233' and 'sip:+15550142233@host'. Ten digits are taken as a US number; an explicit '+'
    or '00' marks an international one.
    """
    if raw is None:
        return None
    text = _SIP_PREFIX.sub("", raw.strip())
    text = text.split("@", 1)[0].split(";", 1)[0]
    text = _EXTENSION.sub("", text)
    if not text or _LETTERS.search(text):
        return None
    explicit_plus = text.lstrip().startswith("+")
    digits = _NON_DIGITS.sub("", text)
    if not explicit_plus and digits.startswith("00"):
        explicit_plus, digits = True, digits[2:]
    if explicit_plus:
        if digits.startswith(_US_COUNTRY_CODE):
            return _us_number(digits[1:])
        if _MIN_INTERNATIONAL_DIGITS <= len(digits) <= _MAX_E164_DIGITS:
            return "+" + digits
        return None
    if len(digits) == 11 and digits.startswith(_US_COUNTRY_CODE):
        return _us_number(digits[1:])
    return _us_number(digits)


def require_phone(raw: str | None) -> str:
    """Like `normalize_phone`, but raise `InvalidPhoneNumber` instead of returning None."""
    number = normalize_phone(raw)
    if number is None:
        raise InvalidPhoneNumber(f"not a phone number: {raw!r}")
    return number


def _us_number(ten: str) -> str | None:
    # NANP area codes never start with 0 or 1; exchanges are not checked because the 555-01xx test
    # numbers (fiction and our fixtures) use exchange 01x.
    if len(ten) != 10 or ten[0] in "01":
        return None
    return "+" + _US_COUNTRY_CODE + ten


def display_phone(number: str) -> str:
    """Format a normalised number for people: '+15550142233' -> '(555) 014-2233'; others stay E.164."""
    if number.startswith("+1") and len(number) == 12:
        ten = number[2:]
        return f"({ten[:3]}) {ten[3:6]}-{ten[6:]}"
    return number


def speakable_phone(number: str) -> str:
    """Digits grouped for text-to-speech: '+15550142233' -> '5 5 5, 0 1 4, 2 2 3 3'."""
    if number.startswith("+1") and len(number) == 12:
        ten = number[2:]
        groups = [ten[:3], ten[3:6], ten[6:]]
    else:
        digits = number.lstrip("+")
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return ", ".join(" ".join(group) for group in groups)
