"""Who may call the SIP endpoint, and whose caller-id headers are believed: trusted peers and digest auth."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from telephony.sip_digest import DigestAuthority
from telephony.sip_screening import Reply, Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(peers: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs ("203.0.113.10", "198.51.100.0/24", "2001:db8::/32"); raises ValueError."""
    return tuple(ipaddress.ip_network(peer.strip(), strict=False) for peer in peers if peer.strip())


def untrusted_allowed_by_default(environment: str, sip_host: str) -> bool:
    """Anyone may call (as an unverified caller) in development or on loopback; in production on a network
    address, only trusted or authenticated peers."""
    if environment != "production":
        return True
    try:
        return ipaddress.ip_address(sip_host).is_loopback
    except ValueError:
        return sip_host == "localhost"


@dataclass(frozen=True)
class PeerDecision:
    reply: Reply | None  # None: let the INVITE in
    vouched: bool = False  # the peer is trusted or authenticated: its P-Asserted-Identity is believed


class PeerGate:
    """Per new INVITE: a trusted peer (by address) is let in and believed; otherwise, with credentials set,
    the peer must answer a digest challenge (401) and is then believed; otherwise it is let in as an
    unverified caller when untrusted peers are allowed, and refused 403 when not."""

    def __init__(
        self,
        *,
        trusted: tuple[Network, ...] = (),
        allow_untrusted: bool = True,
        digest: DigestAuthority | None = None,
    ) -> None:
        self._trusted = trusted
        self._allow_untrusted = allow_untrusted
        self._digest = digest

    @property
    def guarded(self) -> bool:
        """Untrusted peers must prove who they are or are refused. The endpoint then takes calls only where
        the pre-filter sees their source (UDP), since a TCP INVITE reaches the stack unscreened."""
        return self._digest is not None or not self._allow_untrusted

    def is_trusted(self, source: str) -> bool:
        try:
            address = ipaddress.ip_address(source)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._trusted)

    def admit(self, source: str, request: Request) -> PeerDecision:
        if self.is_trusted(source):
            return PeerDecision(None, vouched=True)
        if self._digest is not None:
            answer = self._digest.check(request.method, request.all("authorization"), source)
            if answer == "ok":
                return PeerDecision(None, vouched=True)
            challenge = self._digest.challenge(source, stale=answer == "stale")
            return PeerDecision(Reply(401, "Unauthorized", (f"WWW-Authenticate: {challenge}",)))
        if self._allow_untrusted:
            return PeerDecision(None, vouched=False)
        return PeerDecision(Reply(403, "Forbidden"))
