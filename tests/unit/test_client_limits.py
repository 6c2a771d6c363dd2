"""Issue 16, finding 7 in pieces: who the client is (a trusted proxy's X-Forwarded-For only), and buckets that
forget the least recently seen client rather than everyone at once."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from agent.config import Settings
from agent.server.clients import client_address, client_key
from agent.server.keys import SETTINGS
from agent.server.ratelimit import RateLimiter

pytestmark = pytest.mark.unit


def request_from(peer: str, *forwarded: str, proxies: tuple[str, ...] = ()) -> web.Request:
    app = web.Application()
    app[SETTINGS] = Settings(trusted_proxies=proxies, _env_file=None)
    headers = CIMultiDict(("X-Forwarded-For", value) for value in forwarded)
    request = make_mocked_request("GET", "/api/sessions/x", headers=headers, app=app)
    return request.clone(remote=peer)


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        ("203.0.113.7", ("198.51.100.1",), (), "203.0.113.7"),  # not a proxy of ours: the header is ignored
        ("10.0.0.5", ("198.51.100.1",), ("10.0.0.5",), "198.51.100.1"),
        (
            "10.0.0.5",
            ("6.6.6.6, 198.51.100.1, 10.0.0.9",),
            ("10.0.0.0/8",),
            "198.51.100.1",
        ),  # spoofed left part
        ("10.0.0.5", ("6.6.6.6", "198.51.100.1"), ("10.0.0.5",), "198.51.100.1"),  # two headers: one list
        ("10.0.0.5", ("garbage, 198.51.100.1",), ("10.0.0.5",), "198.51.100.1"),
        ("10.0.0.5", ("198.51.100.1, garbage",), ("10.0.0.5",), "10.0.0.5"),  # unreadable: the proxy itself
        ("10.0.0.5", (), ("10.0.0.5",), "10.0.0.5"),
        ("::ffff:10.0.0.5", ("198.51.100.1",), ("10.0.0.5",), "198.51.100.1"),
    ],
)
def test_the_client_is_the_peer_or_what_a_trusted_proxy_says(
    peer: str, forwarded: tuple[str, ...], proxies: tuple[str, ...], client: str
) -> None:
    assert client_address(request_from(peer, *forwarded, proxies=proxies)) == client


def test_an_ipv6_client_is_its_whole_64() -> None:
    one = client_key(request_from("2001:db8:1:2::1"))
    other = client_key(request_from("2001:db8:1:2:ffff::9"))
    assert one == other == "2001:db8:1:2::/64"
    assert client_key(request_from("2001:db8:1:3::1")) != one


def test_a_malformed_trusted_proxy_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(trusted_proxies=("10.0.0.0/33",), _env_file=None)


def test_the_limiter_forgets_the_least_recent_client_never_the_one_flooding() -> None:
    limiter = RateLimiter(rate_per_s=0.001, burst=2, max_clients=3)
    assert [limiter.allow("flood") for _ in range(3)] == [True, True, False]
    for visitor in range(20):  # many clients come and go while the flood goes on
        assert limiter.allow(f"visitor-{visitor}")
        assert not limiter.allow("flood")  # its empty bucket is never wiped
    assert len(limiter) == 3


def test_a_refusal_says_how_long_to_wait() -> None:
    now = [0.0]
    limiter = RateLimiter(rate_per_s=0.5, burst=1, clock=lambda: now[0])
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(2.0)
    now[0] = 1.0
    assert limiter.take("a") == pytest.approx(1.0)
    now[0] = 2.0
    assert limiter.take("a") == 0.0
