"""SIP digest authentication of incoming INVITEs (RFC 2617 / RFC 7616, MD5): challenges and their answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

# What one Authorization header says: name="quoted value" or name=token, comma-separated, after "Digest".
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)')
_REMEMBERED_ANSWERS = 4096  # answers already taken (nonce, nc, cnonce): one more use of any is a replay
AnswerCheck = Literal["ok", "stale", "missing", "wrong"]


@dataclass(frozen=True)
class DigestCredentials:
    username: str
    password: str = field(repr=False)
    realm: str = "dealership-agent"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_authorization(value: str) -> dict[str, str] | None:
    """The parameters of a `Digest ...` credentials header (names lower-cased); None for another scheme."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    position = 0
    while position < len(rest) and (match := _PARAM.match(rest, position)):
        quoted, token = match.group(2), match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token
        position = match.end()
    return params


class DigestAuthority:
    """Issues nonces and checks the answers to them. A nonce is its issue time and an HMAC of that time and
    the address it was given to, under a key of this process: nothing is stored per challenge, a nonce works
    only from that address, and after `nonce_ttl_s` a correct answer is told `stale` (ask again). An answer
    (nonce, nc, cnonce) is taken once: a replayed INVITE is challenged afresh."""

    def __init__(
        self,
        credentials: DigestCredentials,
        *,
        nonce_ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self._ttl_s = nonce_ttl_s
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._ha1 = _md5(f"{credentials.username}:{credentials.realm}:{credentials.password}")
        self._taken: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def challenge(self, source: str, *, stale: bool = False) -> str:
        """The WWW-Authenticate value of a 401 for a request from `source`."""
        issued = struct.pack(">Q", int(self._clock() * 1000))
        nonce = base64.urlsafe_b64encode(issued + self._signature(issued, source)).decode().rstrip("=")
        realm = self.credentials.realm
        flag = ", stale=true" if stale else ""
        return f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5, qop="auth"{flag}'

    def check(self, method: str, authorizations: list[str], source: str) -> AnswerCheck:
        """Whether one of the request's Authorization headers answers a challenge of ours correctly. Its
        digest-uri is taken as the client wrote it (SIPp names our host without the Request-URI's user
        part): the nonce, bound to the source and spent once, is what ties an answer to its request."""
        ours = [
            params
            for value in authorizations
            if (params := parse_authorization(value)) is not None
            and params.get("realm") == self.credentials.realm
        ]
        if not ours:
            return "missing"
        results = [self._check_one(method, params, source) for params in ours]
        return "ok" if "ok" in results else "stale" if "stale" in results else "wrong"

    def _check_one(self, method: str, params: dict[str, str], source: str) -> AnswerCheck:
        nonce, uri = params.get("nonce", ""), params.get("uri", "")
        qop, nc, cnonce = params.get("qop"), params.get("nc", ""), params.get("cnonce", "")
        if (
            not hmac.compare_digest(params.get("username", ""), self.credentials.username)
            or params.get("algorithm", "MD5").upper() != "MD5"
            or not uri.lower().startswith(("sip:", "sips:", "tel:"))
            or (qop is not None and (qop != "auth" or not nc or not cnonce))
        ):
            return "wrong"
        ha2 = _md5(f"{method}:{uri}")
        expected = (
            _md5(f"{self._ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
            if qop
            else _md5(f"{self._ha1}:{nonce}:{ha2}")
        )
        if not hmac.compare_digest(params.get("response", "").lower(), expected):
            return "wrong"
        age_s = self._nonce_age_s(nonce, source)
        if age_s is None:
            return "wrong"
        if age_s > self._ttl_s:
            return "stale"
        answer = (nonce, nc, cnonce)
        if answer in self._taken:
            return "wrong"
        self._taken[answer] = None
        while len(self._taken) > _REMEMBERED_ANSWERS:
            self._taken.popitem(last=False)
        return "ok"

    def _nonce_age_s(self, nonce: str, source: str) -> float | None:
        """Seconds since we issued `nonce` to `source`; None when it is not one of ours (or not for it)."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except ValueError:
            return None
        issued, signature = raw[:8], raw[8:]
        if len(issued) != 8 or not hmac.compare_digest(signature, self._signature(issued, source)):
            return None
        issued_ms: int = struct.unpack(">Q", issued)[0]
        return self._clock() - issued_ms / 1000

    def _signature(self, issued: bytes, source: str) -> bytes:
        return hmac.new(self._key, issued + source.encode(), hashlib.sha256).digest()[:16]
