"""Who a SIP call is from: the number a believed peer vouches for, else the From user part as a mere claim."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BRACKETED_URI = re.compile(r"<([^>]*)>")
_USER_PART = re.compile(r"sips?:(?P<user>[^@;>?\s]+)@|tel:(?P<number>[^;>?\s]+)", re.IGNORECASE)
_WITHHELD = frozenset({"anonymous", "unknown", "restricted", "private", "unavailable"})
# What a trunk vouches for, in the order it is believed; anyone can write them, so only a believed peer's count.
_IDENTITY_HEADERS = ("p-asserted-identity", "remote-party-id")


@dataclass(frozen=True)
class CallerId:
    number: str | None
    verified: bool  # a trusted or authenticated peer asserted it (P-Asserted-Identity / Remote-Party-ID)


def _user_part(value: str) -> str | None:
    """The user part of a header value's URI: the bracketed one when there is one (not the display name)."""
    bracketed = _BRACKETED_URI.search(value)
    match = _USER_PART.match((bracketed.group(1) if bracketed else value).strip())
    if match is None:
        return None
    user: str = match.group("user") or match.group("number")
    return None if user.lower() in _WITHHELD else user


def caller_identity(peer_uri: str, headers: dict[str, str], *, vouched: bool) -> CallerId:
    """From a believed (`vouched`) peer: P-Asserted-Identity, else Remote-Party-ID, verified. Otherwise, and
    when neither names a number, the From user part: kept for the call record and the dialog, unverified."""
    if vouched:
        by_name = {
            name.lower(): value for name, value in headers.items()
        }  # header names are case-insensitive
        for header in _IDENTITY_HEADERS:
            if number := _user_part(by_name.get(header, "")):
                return CallerId(number, verified=True)
    return CallerId(_user_part(peer_uri), verified=False)
