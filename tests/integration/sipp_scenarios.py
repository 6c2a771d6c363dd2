"""SIPp UAC scenarios for the signalling tests, written as XML files, and a reader for SIPp's message trace."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.integration.sip_agent import AGENT_PORT
from tests.integration.sip_peers import sipp

SIPP_PORT = 5095  # the agent is on 5070 (+1 for TCP); baresip callers use 5080 and 5090
REQUEST_URI = "sip:[service]@[remote_ip]:[remote_port]"
FROM = "From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]-[call_number]-sipp"
TO = "To: <sip:[service]@[remote_ip]:[remote_port]>"
# Fixed within a call (a CANCEL, a retransmission and a non-2xx ACK reuse it), new for every SIPp run: the
# agent's stack keeps a finished INVITE transaction for a while and absorbs a new INVITE with its branch.
INVITE_BRANCH = "z9hG4bK-invite-[pid]-[call_number]"
SDP_OFFER = "\n".join(
    [
        "v=0",
        "o=sipp 1 1 IN IP4 [local_ip]",
        "s=-",
        "c=IN IP4 [media_ip]",
        "t=0 0",
        "m=audio [media_port] RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=sendrecv",
    ]
)


def _via(branch: str) -> str:
    return f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}"


def invite(*headers: str, cseq: int = 1, branch: str = INVITE_BRANCH) -> str:
    """The INVITE with a PCMU + telephone-event offer (and any extra `headers`); one branch per call (a new
    CSeq and branch for an INVITE sent again with credentials after a 401)."""
    return "\n".join(
        [
            f"INVITE {REQUEST_URI} SIP/2.0",
            _via(branch),
            FROM,
            TO,
            "Call-ID: [call_id]",
            f"CSeq: {cseq} INVITE",
            "Contact: <sip:sipp@[local_ip]:[local_port]>",
            "Max-Forwards: 70",
            *headers,
            "Content-Type: application/sdp",
            "Content-Length: [len]",
            "",
            SDP_OFFER,
        ]
    )


def cancel() -> str:
    """CANCEL matches the INVITE's transaction: same branch, Call-ID, From, To and CSeq number."""
    return "\n".join(
        [
            f"CANCEL {REQUEST_URI} SIP/2.0",
            _via(INVITE_BRANCH),
            FROM,
            TO,
            "Call-ID: [call_id]",
            "CSeq: 1 CANCEL",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
    )


def ack_failure() -> str:
    """ACK for a final non-2xx answer (487, 503): part of the INVITE transaction, so the INVITE's branch."""
    return "\n".join(
        [
            f"ACK {REQUEST_URI} SIP/2.0",
            _via(INVITE_BRANCH),
            FROM,
            f"{TO}[peer_tag_param]",
            "Call-ID: [call_id]",
            "CSeq: 1 ACK",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
    )


def in_dialog(method: str, cseq: int, *, content_type: str = "", body: str = "") -> str:
    """A request inside the answered call (ACK for the 200, INFO, BYE): a new branch, the agent's To tag."""
    lines = [
        f"{method} {REQUEST_URI} SIP/2.0",
        _via("[branch]"),
        FROM,
        f"{TO}[peer_tag_param]",
        "Call-ID: [call_id]",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:sipp@[local_ip]:[local_port]>",
        "Max-Forwards: 70",
    ]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines += ["Content-Length: [len]", "", body] if body else ["Content-Length: 0"]
    return "\n".join(lines)


def send(message: str, retrans_ms: int | None = None) -> str:
    retrans = f' retrans="{retrans_ms}"' if retrans_ms else ""
    return f"<send{retrans}><![CDATA[\n{message}\n]]></send>"


def recv(code: int, *, optional: bool = False) -> str:
    flag = ' optional="true"' if optional else ""
    return f'<recv response="{code}"{flag}/>'


def recv_request(method: str, *, timeout_ms: int = 0, ontimeout: str = "") -> str:
    limit = f' timeout="{timeout_ms}" ontimeout="{ontimeout}"' if timeout_ms else ""
    return f'<recv request="{method}"{limit}/>'


def answer_reinvite() -> list[str]:
    """The agent's stack re-INVITEs right after the ACK (libbaresip renegotiates media): answer it.

    Waits up to 2 s for it and carries on without one, so a stack that stops doing so still passes.
    """
    ok = "\n".join(
        [
            "SIP/2.0 200 OK",
            "[last_Via:]",
            "[last_From:]",
            "[last_To:]",
            "[last_Call-ID:]",
            "[last_CSeq:]",
            "Contact: <sip:sipp@[local_ip]:[local_port]>",
            "Content-Type: application/sdp",
            "Content-Length: [len]",
            "",
            SDP_OFFER,
        ]
    )
    return [
        recv_request("INVITE", timeout_ms=2000, ontimeout="reinvited"),
        send(ok),
        recv_request("ACK"),
        '<label id="reinvited"/>',
    ]


def pause(ms: int) -> str:
    return f'<pause milliseconds="{ms}"/>'


def scenario(path: Path, name: str, steps: list[str]) -> Path:
    body = "\n".join(steps)
    path.write_text(
        f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="{name}">\n{body}\n</scenario>\n'
    )
    return path


@dataclass(frozen=True)
class TracedMessage:
    """One SIP message SIPp sent or received, as its trace file shows it."""

    sent: bool
    start_line: str
    headers: dict[str, str]  # header names lower-cased; a repeated header keeps its last value

    @property
    def status(self) -> int | None:
        match = re.match(r"SIP/2\.0 (\d{3})", self.start_line)
        return int(match.group(1)) if match else None

    @property
    def cseq_method(self) -> str:
        return self.headers.get("cseq", " ").split()[-1]


def traced_messages(trace: Path) -> list[TracedMessage]:
    """Parse `-trace_msg` output: blocks separated by dashed lines, each 'UDP message sent/received ...'."""
    messages: list[TracedMessage] = []
    for block in re.split(r"^-{10,}.*$", trace.read_text(errors="replace"), flags=re.MULTILINE):
        lines = [line.rstrip("\r") for line in block.strip().splitlines()]
        if len(lines) < 2 or " message " not in lines[0]:
            continue
        body = lines[1:]
        while body and not body[0].strip():
            body.pop(0)
        if not body:
            continue
        headers: dict[str, str] = {}
        for line in body[1:]:
            if not line.strip():
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        messages.append(TracedMessage(" sent" in lines[0], body[0].strip(), headers))
    return messages


def received(messages: list[TracedMessage], status: int, method: str) -> list[TracedMessage]:
    return [m for m in messages if not m.sent and m.status == status and m.cseq_method == method]


def run_uac(
    workdir: Path,
    scenario_file: Path,
    timeout_s: float = 30,
    extra: tuple[str, ...] = (),
    local_ip: str = "127.0.0.1",
    agent_ip: str = "127.0.0.1",
) -> tuple[int, list[TracedMessage]]:
    """One call of `scenario_file` against the agent at `agent_ip`, sent from `local_ip`; SIPp's exit code
    and the messages it traced."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = [f"{agent_ip}:{AGENT_PORT}", "-sf", str(scenario_file), "-m", "1", "-l", "1"]
    args += ["-i", local_ip, "-p", str(SIPP_PORT), "-s", "agent", "-timeout", f"{int(timeout_s)}s", *extra]
    done = sipp(args, workdir, timeout_s=timeout_s + 5)
    trace = workdir / "messages.log"
    messages = traced_messages(trace) if trace.exists() else []
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], trace.read_text()[-4000:] if trace.exists() else "")
    return done.returncode, messages
