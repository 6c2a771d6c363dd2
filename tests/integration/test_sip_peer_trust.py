"""Who may call the SIP endpoint and whose caller id is believed (issue 16, finding 6): SIPp and baresip peers
on two loopback addresses, 127.0.0.1 the trusted trunk, 127.0.0.2 anyone else."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from aiohttp import web

from agent.server.keys import CALL_LOG, CALL_RUNNER, CONVERSATIONS, SIP_ENDPOINT
from telephony.sip import SipEndpoint
from tests.integration.sip_agent import (
    AGENT_PORT,
    KNOWN_CALLER,
    active_calls,
    heard_text,
    sip_agent,
    sip_settings,
)
from tests.integration.sip_peers import (
    Baresip,
    caller_audio,
    in_loopback_namespace,
    peers_missing,
    wait_until,
)
from tests.integration.sipp_scenarios import (
    INVITE_BRANCH,
    TO,
    TracedMessage,
    ack_failure,
    answer_reinvite,
    in_dialog,
    invite,
    pause,
    received,
    recv,
    run_uac,
    scenario,
    send,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sip,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="SIP tests run inside a loopback-only namespace (scripts/test)"
    ),
    pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}"),
]
TRUNK, STRANGER = "127.0.0.1", "127.0.0.2"
# On a network (TEST-NET-1 addresses on lo): the agent's host, the trunk, anyone else. baresip finds no
# local address for a peer on loopback when it listens on a network address, as a real host would not.
NETWORK = NET_AGENT, NET_TRUNK, NET_STRANGER = "192.0.2.10", "192.0.2.11", "192.0.2.12"
# What a trunk asserts for Maria Gonzalez (fixtures/dealership.yaml); anyone can write the same headers.
MARIA_ASSERTED = (
    f'P-Asserted-Identity: "Maria" <sip:{KNOWN_CALLER}@trunk.example;user=phone>',
    f"Remote-Party-ID: <sip:{KNOWN_CALLER}@trunk.example>;party=calling;screen=yes",
)
PRODUCTION = {
    "environment": "production",
    "operator_token": "operator-token-0123456789",
    "sip_host": "0.0.0.0",  # what the README suggests for a network-facing endpoint
    "sip_trusted_peers": (f"{NET_TRUNK}/32",),
}
CREDENTIALS = ("dealership-phones", "s3cret-phones-pass")
AUTH_BRANCH = "z9hG4bK-auth-[pid]-[call_number]"


def endpoint_of(app: web.Application) -> SipEndpoint:
    return cast(SipEndpoint, app[SIP_ENDPOINT])


@pytest.fixture
def network() -> Iterator[None]:
    """Non-loopback addresses in this namespace: what AGENT_SIP_HOST=0.0.0.0 binds, and the peers'."""
    added: list[str] = []
    try:
        for address in NETWORK:
            done = subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"cannot add {address} to lo: {done.stderr.decode().strip()}")
            added.append(address)
        yield
    finally:
        for address in added:
            subprocess.run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], capture_output=True)


async def sipp_call(
    workdir: Path, steps: list[str], local_ip: str, agent_ip: str = TRUNK
) -> tuple[int, list[TracedMessage]]:
    """One SIPp call from `local_ip` to the agent at `agent_ip`, off the event loop (the agent answers on it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    file = scenario(workdir / "call.xml", workdir.name, steps)
    return await asyncio.to_thread(run_uac, workdir, file, 30, (), local_ip, agent_ip)


@dataclass
class Placed:
    code: int
    messages: list[TracedMessage]
    believed: bool | None  # whether the call's session took its caller id as verified (None: no session)


async def place_call(
    app: web.Application, workdir: Path, steps: list[str], local_ip: str, agent_ip: str = TRUNK
) -> Placed:
    """A SIPp call; while it is on, what its session believes of the caller id."""
    placing = asyncio.create_task(sipp_call(workdir, steps, local_ip, agent_ip))
    runner = app[CALL_RUNNER]
    await wait_until(lambda: runner.active() or placing.done(), 20, "the call to be answered or refused")
    believed = None
    if active := runner.active():
        believed = (await app[CONVERSATIONS].get(active[0]["session_id"])).caller_verified
    code, messages = await placing
    return Placed(code, messages, believed)


def answered_steps(*headers: str, cseq: int = 1, first: list[str] | None = None) -> list[str]:
    """`first` (an INVITE refused with a challenge), then INVITE `cseq`, 200, ACK, 1.5 s of call, BYE."""
    branch = INVITE_BRANCH if cseq == 1 else AUTH_BRANCH
    return [
        *(first or []),
        send(invite(*headers, cseq=cseq, branch=branch), retrans_ms=500),
        recv(100, optional=True),
        recv(180, optional=True),
        recv(200),
        send(in_dialog("ACK", cseq)),
        *answer_reinvite(),
        pause(1500),
        send(in_dialog("BYE", cseq + 1), retrans_ms=500),
        recv(200),
    ]


def challenged_steps() -> list[str]:
    """An INVITE without credentials: 401 with a challenge SIPp keeps for its next request, then the ACK."""
    return [
        send(invite(*MARIA_ASSERTED), retrans_ms=500),
        recv(100, optional=True),
        '<recv response="401" auth="true"/>',
        send(ack_failure()),
    ]


async def last_call(app: web.Application) -> tuple[str | None, str]:
    """The last call's caller id (as its row keeps it), and what the agent greeted it with."""
    await wait_until(lambda: active_calls(app) == 0, 10, "the call to end")
    record = (await app[CALL_LOG].recent())[0]
    return record.caller_id, next(line.text for line in record.transcript if line.role == "agent")


async def test_a_spoofed_caller_id_from_an_untrusted_peer_is_not_greeted_by_name_and_a_trusted_one_is(
    tmp_path: Path,
) -> None:
    settings = sip_settings(tmp_path, sip_trusted_peers=(TRUNK,))  # development: untrusted peers may call
    async with sip_agent(settings) as app:
        spoofed = await place_call(app, tmp_path / "stranger", answered_steps(*MARIA_ASSERTED), STRANGER)
        assert spoofed.code == 0 and len(received(spoofed.messages, 200, "INVITE")) == 1  # it may still call
        caller_id, greeting = await last_call(app)
        assert caller_id == "sipp"  # its From, kept as a claim; the number it asserted is ignored
        assert "Maria" not in greeting and greeting.startswith("Thanks for calling")
        assert spoofed.believed is False

        trunk = await place_call(app, tmp_path / "trunk", answered_steps(*MARIA_ASSERTED), TRUNK)
        assert trunk.code == 0 and len(received(trunk.messages, 200, "INVITE")) == 1
        caller_id, greeting = await last_call(app)
        assert caller_id == KNOWN_CALLER and greeting.startswith("Hi Maria") and trunk.believed is True

        remote_party_only = (MARIA_ASSERTED[1],)  # a trunk that sends only Remote-Party-ID is believed too
        trunk = await place_call(app, tmp_path / "trunk-rpid", answered_steps(*remote_party_only), TRUNK)
        assert trunk.code == 0 and trunk.believed is True and (await last_call(app))[0] == KNOWN_CALLER


async def test_in_production_on_a_network_address_an_untrusted_invite_gets_403_and_the_trunk_gets_through(
    tmp_path: Path, network: None
) -> None:
    settings = sip_settings(tmp_path, **PRODUCTION)
    refused = [send(invite(*MARIA_ASSERTED)), recv(100, optional=True), recv(403), send(ack_failure())]
    async with sip_agent(settings) as app:
        code, messages = await sipp_call(
            tmp_path / "stranger", [*refused, pause(500)], NET_STRANGER, NET_AGENT
        )
        assert code == 0 and len(received(messages, 403, "INVITE")) == 1
        assert received(messages, 200, "INVITE") == [] and received(messages, 180, "INVITE") == []
        await asyncio.sleep(1)
        assert endpoint_of(app).answered == 0 and await app[CALL_LOG].recent() == []  # no call, no row
        assert endpoint_of(app).screened["untrusted"] == 1
        with socket.socket() as tcp, pytest.raises(ConnectionRefusedError):  # TCP is not screened: off
            tcp.connect((NET_AGENT, AGENT_PORT))
        tagged = invite(*MARIA_ASSERTED).replace(TO, f"{TO};tag=made-up")  # as if inside a call: no admission
        code, messages = await sipp_call(
            tmp_path / "tagged", [send(tagged), recv(100, optional=True), recv(481)], NET_STRANGER, NET_AGENT
        )
        assert code == 0 and received(messages, 200, "INVITE") == [] and endpoint_of(app).answered == 0

        trunk = await place_call(
            app, tmp_path / "trunk", answered_steps(*MARIA_ASSERTED), NET_TRUNK, NET_AGENT
        )
        assert trunk.code == 0 and len(received(trunk.messages, 200, "INVITE")) == 1
        caller_id, greeting = await last_call(app)
        assert caller_id == KNOWN_CALLER and greeting.startswith("Hi Maria") and trunk.believed is True


async def test_with_credentials_an_untrusted_peer_is_challenged_and_admitted_once_it_answers(
    tmp_path: Path, network: None
) -> None:
    user, password = CREDENTIALS
    settings = sip_settings(tmp_path, **PRODUCTION, sip_auth_username=user, sip_auth_password=password)
    wrong = [
        *challenged_steps(),
        send(invite(f"[authentication username={user} password=guess]", cseq=2, branch=AUTH_BRANCH)),
        recv(100, optional=True),
        recv(401),
        send(ack_failure().replace("CSeq: 1 ACK", "CSeq: 2 ACK").replace(INVITE_BRANCH, AUTH_BRANCH)),
        pause(500),
    ]
    answered = answered_steps(
        f"[authentication username={user} password={password}]",
        *MARIA_ASSERTED,
        cseq=2,
        first=challenged_steps(),
    )
    async with sip_agent(settings) as app:
        code, messages = await sipp_call(tmp_path / "wrong", wrong, NET_STRANGER, NET_AGENT)
        assert code == 0 and len(received(messages, 401, "INVITE")) == 2
        offered = received(messages, 401, "INVITE")[0].headers.get("www-authenticate", "")
        assert offered.startswith("Digest ") and 'nonce="' in offered and "algorithm=MD5" in offered
        assert received(messages, 200, "INVITE") == [] and endpoint_of(app).answered == 0

        authenticated = await place_call(app, tmp_path / "right", answered, NET_STRANGER, NET_AGENT)
        assert authenticated.code == 0 and len(received(authenticated.messages, 200, "INVITE")) == 1
        caller_id, greeting = await last_call(app)  # an authenticated peer is believed
        assert (
            caller_id == KNOWN_CALLER and greeting.startswith("Hi Maria") and authenticated.believed is True
        )

        # a dealership softphone on the LAN with the credentials: baresip answers the challenge itself
        wav = caller_audio(tmp_path / "quiet.wav", [(7.0, None)])
        phone = Baresip(
            tmp_path / "softphone",
            5080,
            5580,
            (30000, 30010),
            wav=wav,
            address=NET_STRANGER,
            auth=CREDENTIALS,
        )
        phone.start(dial=f"sip:agent@{NET_AGENT}:{AGENT_PORT}")
        try:
            await phone.wait_calls_ended(1, 40)
            assert "Call established" in phone.log
        finally:
            phone.stop()
        assert "thanks for calling riverside motors" in await heard_text(phone)
        assert endpoint_of(app).answered == 2 and endpoint_of(app).screened["challenged"] >= 3
