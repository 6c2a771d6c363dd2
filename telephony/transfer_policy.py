"""Where a call may be transferred: only to targets on the configured allow-list (no toll fraud)."""

from __future__ import annotations

import re

# RFC 3261 user characters (unreserved, escaped, user-unreserved) less ";", "?" and ",": nothing in the user
# part may read as a parameter, a header, a second address or the end of the URI once it is in a Refer-To.
_USER = r"[A-Za-z0-9\-_.!~*'()%&=+$/]+"
_HOST = r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]"  # a name, IPv4, or a bracketed IPv6 reference
_SIP_URI = re.compile(rf"sips?:(?:(?P<user>{_USER})@)?(?P<host>{_HOST})(?::(?P<port>\d{{1,5}}))?")
_HOST_ENTRY = re.compile(rf"@(?P<host>{_HOST})(?::(?P<port>\d{{1,5}}))?")


def _host_port(uri: str) -> tuple[str, str] | None:
    match = _SIP_URI.fullmatch(uri)
    if match is None:
        return None
    return match.group("host").lower(), match.group("port") or ""


def is_transfer_allowed(target: str, allow_list: tuple[str, ...]) -> bool:
    """True only when `target` is a plain SIP URI that an allow-list entry names.

    Entries are exact URIs ("sip:sarah@10.0.0.5:5060") or "@host" / "@host:port" for every user on one host.
    Anything with parameters, headers, spaces or another scheme is refused, whatever the entry: a target
    never comes from what a caller says, but the check must hold even if one did.
    """
    parsed = _host_port(target)  # not stripped: whitespace anywhere is refused
    if parsed is None:
        return False
    host, port = parsed
    for raw_entry in allow_list:
        entry = raw_entry.strip()  # entries come from configuration
        if entry.startswith("@"):
            allowed = _HOST_ENTRY.fullmatch(entry)
            if allowed and allowed.group("host").lower() == host and allowed.group("port") in (None, port):
                return True
        elif entry.lower() == target.lower():
            return True
    return False
