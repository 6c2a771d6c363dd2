"""Who the client is: its address, or the one a trusted proxy names in X-Forwarded-For; the key limits use."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

from agent.server.keys import SETTINGS

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# An IPv6 client owns at least a /64 (it can pick any address in it), so limits count the /64 as one client.
IPV6_CLIENT_PREFIX = 64


@lru_cache(maxsize=8)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    """AGENT_TRUSTED_PROXIES as networks ("10.0.0.5", "10.0.0.0/8", "::1"); a malformed entry is refused."""
    try:
        return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())
    except ValueError as exc:
        raise ValueError(f"AGENT_TRUSTED_PROXIES: {exc}") from None


def _address(text: str | None) -> IpAddress | None:
    try:
        address = ipaddress.ip_address((text or "").strip().strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IpAddress, networks: tuple[IpNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address(request: web.Request) -> str:
    """The connecting peer; when that peer is a trusted proxy, the last address in X-Forwarded-For that is
    not itself a trusted proxy (read right to left: each proxy appends the address it saw). Headers from any
    other peer are ignored, so a client cannot choose its own key."""
    peer = _address(request.remote)
    if peer is None:
        return request.remote or "unknown"
    networks = trusted_networks(request.app[SETTINGS].server.trusted_proxies)
    if not _trusted(peer, networks):
        return str(peer)
    hops = [hop for header in request.headers.getall("X-Forwarded-For", []) for hop in header.split(",")]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # a garbled entry: what lies left of it cannot be trusted either
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def client_key(request: web.Request) -> str:
    """The key of the client's rate-limit bucket and line count: its address, or its /64 for IPv6."""
    address = client_address(request)
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return address
