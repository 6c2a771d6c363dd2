"""SIP requests screened before the stack decodes them: malformed ones answered 4xx, RFC 2543 ones mended."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

# Compact header forms (RFC 3261 7.3.3 and extensions) -> full lower-case names.
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "e": "content-encoding",
    "k": "supported",
    "s": "subject",
    "o": "event",
    "u": "allow-events",
    "r": "refer-to",
    "b": "referred-by",
}
_SINGLE = ("from", "to", "call-id", "cseq", "max-forwards", "content-length", "content-type")
_REQUIRED = ("via", "from", "to", "call-id", "cseq")
_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_TOKEN_RE = re.compile(rf"^{_TOKEN}$")
_START = re.compile(rf"^({_TOKEN}) ([^\s<>]+) (SIP/\d+\.\d+)$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_PARAM = re.compile(rf'^\s*{_TOKEN}\s*(=\s*({_TOKEN}|\[[0-9A-Fa-f:.]+\]|"([^"\\]|\\.)*")\s*)?$')
_VIA = re.compile(
    rf"^SIP\s*/\s*2\.0\s*/\s*{_TOKEN}\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(\s*:\s*\d{{1,5}})?\s*$"
)
_CSEQ = re.compile(rf"^(\d+)\s+({_TOKEN})$")
_DIGITS = re.compile(r"^\d+$")
# Option tags the stack (baresip) implements; a Require naming another is answered 420.
SUPPORTED_EXTENSIONS = frozenset({"replaces", "norefersub", "100rel", "timer", "path", "outbound", "gruu"})
_SDP_ACCEPTED = ("application/sdp", "application/*", "*/*")
_KNOWN_METHODS = frozenset(
    {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "NOTIFY", "REFER", "MESSAGE", "UPDATE", "PRACK"}
)


class Refused(ValueError):
    """The request is answered with `status` instead of reaching the stack."""

    def __init__(self, status: int, reason: str, *headers: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.headers = headers


@dataclass(frozen=True)
class Request:
    """A request's start line and its headers (names lower-cased and expanded, values unfolded, in order)."""

    method: str
    uri: str
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        return [value for header, value in self.headers if header == name]

    def first(self, name: str) -> str | None:
        found = self.all(name)
        return found[0] if found else None


def parse_request(datagram: bytes) -> Request | None:
    """The request in a datagram; None for a response (those pass untouched). Raises Refused (400, 505)."""
    head, separator, body = datagram.partition(b"\r\n\r\n")
    if not separator:
        head, _, body = datagram.partition(b"\n\n")
    lines = re.split(r"\r?\n", head.decode("latin-1").lstrip("\r\n"))
    if lines[0].startswith("SIP/"):
        return None
    start = _START.match(lines[0])
    if start is None:  # extra or trailing spaces, LWS or <> in the Request-URI
        raise Refused(400, "Bad Request-Line")
    if start.group(3) != "SIP/2.0":
        raise Refused(505, "Version Not Supported")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded onto the header before
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN_RE.match(name.strip()):
            raise Refused(400, "Bad Header Line")
        lowered = name.strip().lower()
        headers.append((_COMPACT.get(lowered, lowered), value.strip()))
    return Request(start.group(1), start.group(2), headers, body)


def _split(value: str, separator: str) -> list[str]:
    """Split on `separator` outside quotes and angle brackets."""
    parts, current, quoted, bracketed, escaped = [], "", False, False, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            bracketed = True
        elif char == ">" and not quoted:
            bracketed = False
        elif char == separator and not quoted and not bracketed:
            parts.append(current)
            current = ""
            continue
        current += char
    return [*parts, current]


def _check_params(params: list[str], header: str) -> None:
    if any(not _PARAM.match(param) for param in params):
        raise Refused(400, f"Bad {header} Parameter")


def check_address(value: str, header: str) -> None:
    """name-addr or addr-spec (RFC 3261 25.1): quotes closed, unquoted display names of tokens, nothing
    but the URI between < and >, no spaces or headers in a bare addr-spec."""
    rest = value.strip()
    if rest.startswith('"'):
        closing = re.match(r'^"(?:[^"\\]|\\.)*"', rest)
        if closing is None:
            raise Refused(400, f"Unterminated Quote in {header}")
        rest = rest[closing.end() :].lstrip()
        if not rest.startswith("<"):
            raise Refused(400, f"Bad {header}")
    if "<" in rest:
        display, _, bracketed = rest.partition("<")
        if any(not _TOKEN_RE.match(word) for word in display.split()):
            raise Refused(400, f"Unquoted Display Name in {header}")
        uri, closed, after = bracketed.partition(">")
        if not closed or not uri or re.search(r"\s", uri) or _SCHEME.match(uri) is None:
            raise Refused(400, f"Bad Address in {header}")
        if after.strip():
            if not after.strip().startswith(";"):
                raise Refused(400, f"Bad {header}")
            _check_params(after.strip()[1:].split(";"), header)
        return
    bare, *params = rest.split(";")
    if not bare or re.search(r"\s", bare.strip()) or "?" in bare or _SCHEME.match(bare.strip()) is None:
        raise Refused(400, f"Bad Address in {header}")
    _check_params(params, header)


def _check_via(values: list[str]) -> None:
    for value in (part for header in values for part in _split(header, ",")):
        sent, *params = value.split(";")
        if not _VIA.match(sent.strip()):
            raise Refused(400, "Bad Via")
        _check_params(params, "Via")


def _check_numbers(request: Request, body_length: int) -> None:
    cseq = _CSEQ.match(request.first("cseq") or "")
    if cseq is None or int(cseq.group(1)) > 2**32 - 1:
        raise Refused(400, "Bad CSeq")
    if cseq.group(2) != request.method:
        raise Refused(400, "CSeq Method Mismatch")
    forwards = request.first("max-forwards")
    if forwards is not None and (not _DIGITS.match(forwards) or int(forwards) > 255):
        raise Refused(400, "Bad Max-Forwards")
    length = request.first("content-length")
    if length is not None and (not _DIGITS.match(length) or int(length) > body_length):
        raise Refused(400, "Bad Content-Length")  # negative, not a number, or more than arrived (UDP)


def check_request(request: Request) -> None:
    """Every rule RFC 4475's invalid requests break, answered as section 3 suggests; raises Refused."""
    for name in _REQUIRED:
        if not request.all(name):
            raise Refused(400, f"Missing {name.title()}")
    for name in _SINGLE:
        if len(request.all(name)) > 1:
            raise Refused(400, f"Multiple {name.title()} Values")
    _check_numbers(request, len(request.body))
    _check_via(request.all("via"))
    for name in ("from", "to"):
        check_address(request.first(name) or "", name.title())
    for contact in (part for header in request.all("contact") for part in _split(header, ",")):
        if contact.strip() != "*":
            check_address(contact, "Contact")
    date = request.first("date")
    if date is not None and not date.endswith(" GMT"):
        raise Refused(400, "Bad Date")
    scheme = _SCHEME.match(request.uri)
    if scheme is None:
        raise Refused(400, "Bad Request-URI")
    if scheme.group(1).lower() not in ("sip", "sips", "tel"):
        raise Refused(416, "Unsupported URI Scheme")
    if "?" in request.uri.rpartition("@")[2]:
        raise Refused(400, "Headers in Request-URI")
    required = {tag.strip() for header in request.all("require") for tag in header.split(",") if tag.strip()}
    if unsupported := sorted(required - SUPPORTED_EXTENSIONS):
        raise Refused(420, "Bad Extension", f"Unsupported: {', '.join(unsupported)}")
    if request.method == "INVITE":
        _check_invite_media(request)


def _check_invite_media(request: Request) -> None:
    content_type = (request.first("content-type") or "").split(";")[0].strip().lower()
    if request.body.strip() and content_type != "application/sdp":
        raise Refused(415, "Unsupported Media Type", "Accept: application/sdp")
    accept = request.first("accept")
    if accept is not None and not any(kind in accept.lower() for kind in _SDP_ACCEPTED):
        raise Refused(406, "Not Acceptable", "Accept: application/sdp")


def mend_rfc2543(datagram: bytes, request: Request) -> bytes | None:
    """An RFC 2543 request (no branch on its top Via) gets one derived from its transaction (Call-ID, CSeq,
    From tag, sent-by), so the stack can match it and its retransmissions. None when nothing to mend."""
    top = _split(request.first("via") or "", ",")[0]
    if re.search(r";\s*branch\s*=", top, re.IGNORECASE):
        return None
    key = "|".join(
        (request.first("call-id") or "", request.first("cseq") or "", request.first("from") or "", top)
    )
    branch = f";branch=z9hG4bK-2543-{hashlib.sha1(key.encode()).hexdigest()[:16]}"
    match = re.search(rb"^(via|v)[ \t]*:[^\r\n]*", datagram, re.IGNORECASE | re.MULTILINE)
    if match is None:
        return None
    line = match.group(0)
    first = line.split(b",")[0]  # the top Via is the first value of the first Via line
    return datagram[: match.start()] + first + branch.encode() + line[len(first) :] + datagram[match.end() :]


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    headers: tuple[str, ...] = field(default=())


def build_reply(request: Request | None, raw: bytes, reply: Reply) -> bytes:
    """A stateless response that copies Via, From, To (tagged), Call-ID and CSeq from the request."""
    if request is None:  # the request could not be parsed: copy what can be found in the raw bytes
        text = raw.decode("latin-1")
        lines = [
            line
            for line in re.split(r"\r?\n", text)
            if re.match(r"(?i)^(via|v|from|f|to|t|call-id|i|cseq)\s*:", line)
        ]
    else:
        names = {"via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq"}
        lines = [f"{names[name]}: {value}" for name, value in request.headers if name in names]
    out = [f"SIP/2.0 {reply.status} {reply.reason}"]
    for line in lines:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("to", "t") and "tag=" not in line.lower() and reply.status >= 200:
            line = f"{line};tag={secrets.token_hex(6)}"
        out.append(line)
    out += [*reply.headers, "Content-Length: 0", "", ""]
    return "\r\n".join(out).encode("latin-1")


def answer_for_undecodable(method: str) -> Reply:
    """A well-formed request the stack cannot decode still gets a final response, never silence."""
    if method in _KNOWN_METHODS and method != "ACK":
        return Reply(500, "Server Internal Error", ("Retry-After: 60",))
    return Reply(501, "Not Implemented", (f"Allow: {', '.join(sorted(_KNOWN_METHODS - {'MESSAGE'}))}",))
