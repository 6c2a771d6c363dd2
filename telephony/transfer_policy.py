"""Where a call may be transferred: only to targets on the configured allow-list (no toll fraud)."""

from __future__ import annotations

import re

_SIP_URI = re.compile(r"^sips?:(?:(?P<user>[^@\s;?]+)@)?(?P<host>[A-Za-z0-9.\-\[\]:]+?)(?::(?P<port>\d+))?$")


def _host_port(uri: str) -> tuple[str, str] | None:
    match = _SIP_URI.match(uri.strip())
    if match is None:
        return None
    return match.group("host").lower(), match.group("port") or ""


def is_transfer_allowed(target: str, allow_list: tuple[str, ...]) -> bool:
    """True only when `target` is a plain SIP URI that an allow-list entry names.

    Entries are exact URIs ("sip:sarah@10.0.0.5:5060") or "@host" / "@host:port" for every user on one host.
    Anything with parameters, headers, spaces or another scheme is refused, whatever the entry: a target
    never comes from what a caller says, but the check must hold even if one did.
    """
    candidate = target.strip()
    parsed = _host_port(candidate)
    if parsed is None or not allow_list:
        return False
    host, port = parsed
    for entry in allow_list:
        entry = entry.strip()
        if entry.startswith("@"):
            allowed_host, _, allowed_port = entry[1:].lower().partition(":")
            if host == allowed_host and (not allowed_port or allowed_port == port):
                return True
        elif entry.lower() == candidate.lower():
            return True
    return False
