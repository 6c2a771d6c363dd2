"""Who may call the SIP endpoint and whose caller id is believed: digest answers, trusted peers, caller ids."""

from __future__ import annotations

import hashlib
import re

import pytest
from pydantic import ValidationError

from agent.config import Settings
from telephony.sip_admission import Admitted, Screen
from telephony.sip_caller_id import caller_identity
from telephony.sip_digest import DigestAuthority, DigestCredentials, parse_authorization
from telephony.sip_trust import PeerGate, parse_networks, untrusted_allowed_by_default

pytestmark = pytest.mark.unit
CREDENTIALS = DigestCredentials("phones", "s3cret", realm="dealership-agent")
URI = "sip:agent@192.0.2.10:5060"
MARIA = "+15550142233"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def answer(
    challenge: str,
    *,
    password: str = "s3cret",
    nc: str = "00000001",
    cnonce: str = "0a4f113b",
    qop: bool = True,
    method: str = "INVITE",
) -> str:
    """What a client sends back (RFC 2617 section 3.2.2), computed here independently of the agent."""
    nonce = re.search(r'nonce="([^"]+)"', challenge)
    assert nonce is not None
    ha1, ha2 = md5(f"phones:dealership-agent:{password}"), md5(f"{method}:{URI}")
    if qop:
        response = md5(f"{ha1}:{nonce.group(1)}:{nc}:{cnonce}:auth:{ha2}")
        extra = f', qop=auth, nc={nc}, cnonce="{cnonce}"'
    else:
        response, extra = md5(f"{ha1}:{nonce.group(1)}:{ha2}"), ""
    return (
        f'Digest username="phones", realm="dealership-agent", nonce="{nonce.group(1)}", uri="{URI}", '
        f'response="{response}", algorithm=MD5{extra}'
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_answer_formula_matches_rfc_2617s_own_example() -> None:
    ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life")
    ha2 = md5("GET:/dir/index.html")
    nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
    assert md5(f"{ha1}:{nonce}:00000001:0a4f113b:auth:{ha2}") == "6629fae49393a05397450978507c4ef1"


def test_a_right_answer_is_taken_once_and_a_wrong_one_never() -> None:
    authority = DigestAuthority(CREDENTIALS)
    challenge = authority.challenge("192.0.2.12")
    assert 'realm="dealership-agent"' in challenge and 'qop="auth"' in challenge
    right = answer(challenge)
    assert authority.check("INVITE", [answer(challenge, password="guess")], "192.0.2.12") == "wrong"
    assert authority.check("INVITE", [right], "192.0.2.99") == "wrong"  # the nonce was given to another
    assert authority.check("INVITE", [right], "192.0.2.12") == "ok"
    assert authority.check("INVITE", [right], "192.0.2.12") == "wrong"  # replayed
    assert authority.check("INVITE", [answer(challenge, nc="00000002")], "192.0.2.12") == "ok"  # next use
    assert authority.check("INVITE", [answer(challenge, qop=False)], "192.0.2.12") == "ok"  # RFC 2069 form
    assert authority.check("INVITE", [answer(challenge, method="BYE")], "192.0.2.12") == "wrong"
    assert authority.check("INVITE", [], "192.0.2.12") == "missing"
    assert DigestAuthority(CREDENTIALS).check("INVITE", [right], "192.0.2.12") == "wrong"  # another key


def test_a_nonce_expires_and_a_right_answer_to_it_is_told_stale() -> None:
    clock = Clock()
    authority = DigestAuthority(CREDENTIALS, nonce_ttl_s=30, clock=clock)
    challenge = authority.challenge("192.0.2.12")
    clock.now += 31
    assert authority.check("INVITE", [answer(challenge)], "192.0.2.12") == "stale"
    assert authority.challenge("192.0.2.12", stale=True).endswith("stale=true")


def test_authorization_headers_of_other_schemes_or_forms_are_not_ours() -> None:
    assert parse_authorization("Basic cGhvbmVzOnMzY3JldA==") is None
    params = parse_authorization('Digest username="a \\"b\\"",realm=r,nc=00000001')
    assert params == {"username": 'a "b"', "realm": "r", "nc": "00000001"}


def invite(call: int, *headers: str) -> bytes:
    lines = [
        f"INVITE {URI} SIP/2.0",
        f"Via: SIP/2.0/UDP 192.0.2.12:5060;branch=z9hG4bK-{call}",
        "From: <sip:sipp@192.0.2.12>;tag=f1",
        "To: <sip:agent@192.0.2.10>",
        "Call-ID: call-1@192.0.2.12",
        f"CSeq: {call} INVITE",
        "Max-Forwards: 70",
        *headers,
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def screen(gate: PeerGate) -> Screen:
    return Screen(invites_per_s=100, burst=100, retry_after_s=30, peers=gate)


def test_a_trusted_peer_is_believed_and_others_are_refused_403_unless_allowed() -> None:
    trusted = parse_networks(["198.51.100.0/24", "2001:db8::1"])
    closed = screen(PeerGate(trusted=trusted, allow_untrusted=False))
    refused = closed.verdict(invite(1), "192.0.2.12", lambda _: True)
    assert refused.status == 403 and refused.data.startswith(b"SIP/2.0 403 Forbidden")
    assert closed.refused_untrusted == 1 and closed.claim("call-1@192.0.2.12") is None
    assert closed.verdict(invite(2), "::ffff:198.51.100.7", lambda _: True).action == "pass"
    assert closed.claim("call-1@192.0.2.12") == Admitted("::ffff:198.51.100.7", vouched=True)
    assert PeerGate(trusted=trusted).is_trusted("2001:db8::1") and not PeerGate(trusted=trusted).is_trusted(
        "?"
    )

    open_door = screen(PeerGate(trusted=trusted, allow_untrusted=True))
    assert open_door.verdict(invite(1), "192.0.2.12", lambda _: True).action == "pass"
    assert open_door.claim("call-1@192.0.2.12") == Admitted("192.0.2.12", vouched=False)
    assert PeerGate(allow_untrusted=False).guarded and not PeerGate(allow_untrusted=True).guarded


def test_with_credentials_an_untrusted_peer_is_challenged_then_admitted_and_believed() -> None:
    gate = PeerGate(allow_untrusted=True, digest=DigestAuthority(CREDENTIALS))
    prefilter = screen(gate)
    first = prefilter.verdict(invite(1), "192.0.2.12", lambda _: True)
    assert first.status == 401 and prefilter.challenged == 1 and gate.guarded
    challenge = re.search(rb"WWW-Authenticate: (.*)\r\n", first.data)
    assert challenge is not None
    again = prefilter.verdict(invite(1), "192.0.2.12", lambda _: True)  # a retransmission: the same answer
    assert again.status == 401 and prefilter.challenged == 1
    credentials = f"Authorization: {answer(challenge.group(1).decode())}"
    assert prefilter.verdict(invite(2, credentials), "192.0.2.12", lambda _: True).action == "pass"
    assert prefilter.claim("call-1@192.0.2.12") == Admitted("192.0.2.12", vouched=True)


def test_only_a_believed_peers_asserted_identity_is_the_caller_id() -> None:
    headers = {"p-asserted-identity": f'"Maria" <sip:{MARIA}@trunk.example;user=phone>'}
    assert caller_identity("sip:5551234@192.0.2.12", headers, vouched=False) == caller_identity(
        "sip:5551234@192.0.2.12", {}, vouched=True
    )
    assert caller_identity("sip:5551234@192.0.2.12", headers, vouched=False).number == "5551234"
    believed = caller_identity("sip:anonymous@192.0.2.11", headers, vouched=True)
    assert (believed.number, believed.verified) == (MARIA, True)
    rpid = {"Remote-Party-ID": f"<tel:{MARIA}>;party=calling"}
    assert caller_identity("sip:x@192.0.2.11", rpid, vouched=True).number == MARIA
    withheld = caller_identity("sip:anonymous@192.0.2.12", {}, vouched=True)
    assert (withheld.number, withheld.verified) == (None, False)


def test_untrusted_peers_are_refused_by_default_only_in_production_on_a_network_address() -> None:
    assert untrusted_allowed_by_default("development", "0.0.0.0")
    assert untrusted_allowed_by_default("production", "127.0.0.1")
    assert untrusted_allowed_by_default("production", "::1")
    assert not untrusted_allowed_by_default("production", "0.0.0.0")
    assert not untrusted_allowed_by_default("production", "203.0.113.5")


def test_sip_settings_refuse_a_bad_peer_and_half_a_credential() -> None:
    with pytest.raises(ValidationError, match="does not appear to be an IPv4 or IPv6 network"):
        Settings(sip_trusted_peers=("trunk.example",), _env_file=None)
    with pytest.raises(ValidationError, match="AGENT_SIP_AUTH_PASSWORD"):
        Settings(sip_auth_username="phones", _env_file=None)
    settings = Settings(sip_trusted_peers=("203.0.113.0/28",), sip_allow_untrusted=False, _env_file=None)
    assert settings.sip.sip_allow_untrusted is False and settings.sip.sip_auth_username == ""


def test_sip_settings_refuse_a_jitter_buffer_range_upside_down() -> None:
    with pytest.raises(ValidationError, match="sip_jitter_buffer_max_ms must be above"):
        Settings(sip_jitter_buffer_min_ms=200, sip_jitter_buffer_max_ms=100, _env_file=None)
    with pytest.raises(ValidationError, match="sip_jitter_buffer"):
        Settings(sip_jitter_buffer="elastic", _env_file=None)
