"""SIP provisioning, transfer and callback requests, checked against a loopback Twirp server that records them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from livekit import api, rtc

from agent.__main__ import main
from agent.config import LiveKitSettings
from telephony.livekit.room_connect import ServerCallControl
from telephony.livekit.sip_admin import (
    LiveKitUnreachable,
    call_back,
    open_livekit_api,
    provision,
    transfer_caller,
)
from tests.integration.conftest import ROOT
from tests.livekit_twirp import KEY, SECRET, FakeLiveKit, fake_livekit

pytestmark = pytest.mark.integration


def settings(url: str, **overrides: Any) -> LiveKitSettings:
    values: dict[str, Any] = {
        "livekit_url": url,
        "livekit_api_key": KEY,
        "livekit_api_secret": SECRET,
        "livekit_sip_numbers": ("+15551230000",),
        "livekit_sip_allowed_addresses": ("203.0.113.0/24",),
        "livekit_sip_auth_username": "trunkuser",
        "livekit_sip_auth_password": "trunkpass",
        "livekit_outbound_trunk_id": "ST_out",
    }
    values.update(overrides)
    return LiveKitSettings(_env_file=None, **values)


async def test_first_run_creates_the_trunk_and_rule_second_run_updates_them_in_place() -> None:
    async with fake_livekit() as (fake, url):
        first = settings(url)
        async with open_livekit_api(first) as client:
            done = await provision(first, client)
        assert (done.trunk_action, done.rule_action) == ("created", "created")
        assert fake.methods == [
            "ListSIPInboundTrunk",
            "CreateSIPInboundTrunk",
            "ListSIPDispatchRule",
            "CreateSIPDispatchRule",
        ]
        trunk = fake.requests[1].body["trunk"]
        assert trunk == {
            "name": "dealership-inbound",
            "numbers": ["+15551230000"],
            "allowedAddresses": ["203.0.113.0/24"],
            "authUsername": "trunkuser",
            "authPassword": "trunkpass",
        }
        rule = fake.requests[3].body["dispatchRule"]
        assert rule["rule"] == {"dispatchRuleIndividual": {"roomPrefix": "call-"}}
        assert rule["trunkIds"] == [done.trunk_id] and rule["name"] == "dealership-calls"
        for recorded in fake.requests:  # admin calls carry SIP admin grants and nothing else
            assert recorded.claims.sip is not None and recorded.claims.sip.admin
            assert recorded.claims.video is None or not recorded.claims.video.room_admin

        fake.requests.clear()
        second = settings(url, livekit_sip_numbers=("+15551230000", "+15551239999"))
        async with open_livekit_api(second) as client:
            again = await provision(second, client)
        assert (again.trunk_action, again.rule_action) == ("updated", "updated")
        assert (again.trunk_id, again.rule_id) == (done.trunk_id, done.rule_id)
        assert fake.methods == [
            "ListSIPInboundTrunk",
            "UpdateSIPInboundTrunk",
            "ListSIPDispatchRule",
            "UpdateSIPDispatchRule",
        ]
        assert fake.requests[1].body["sipTrunkId"] == done.trunk_id
        assert fake.requests[1].body["replace"]["numbers"] == ["+15551230000", "+15551239999"]
        assert len(fake.trunks) == 1 and len(fake.rules) == 1


async def test_transfer_asks_livekit_to_refer_the_caller_and_reports_the_outcome() -> None:
    async with fake_livekit() as (fake, url):
        async with open_livekit_api(settings(url)) as client:
            ok = await transfer_caller(client, room="call-abc", identity="sip_1", target="sip:sarah@10.0.0.5")
            fake.transfer_status = api.SIPTransferStatus.STS_TRANSFER_FAILED
            failed = await transfer_caller(
                client, room="call-abc", identity="sip_1", target="sip:sarah@10.0.0.5"
            )
        assert (ok, failed) == (True, False)
        sent = fake.requests[0]
        assert sent.body["roomName"] == "call-abc" and sent.body["participantIdentity"] == "sip_1"
        assert sent.body["transferTo"] == "sip:sarah@10.0.0.5"
        assert sent.claims.video is not None and sent.claims.video.room == "call-abc"
        assert sent.claims.sip is not None and sent.claims.sip.call


async def test_a_failed_transfer_request_is_false_not_an_exception() -> None:
    async with fake_livekit() as (_, url):
        wrong_secret = settings(url, livekit_api_secret="wrong-secret-wrong-secret-0123456")
        async with open_livekit_api(wrong_secret) as client:
            assert not await transfer_caller(client, room="call-abc", identity="sip_1", target="sip:a@b")


async def test_callback_dials_through_the_outbound_trunk_into_a_prefixed_room() -> None:
    async with fake_livekit() as (fake, url):
        config = settings(url)
        async with open_livekit_api(config) as client:
            info = await call_back(client, config, number="+15557654321", room="call-callback-1")
        assert info.room_name == "call-callback-1"
        body = fake.requests[0].body
        assert body["sipTrunkId"] == "ST_out" and body["sipCallTo"] == "+15557654321"
        assert body["roomName"] == "call-callback-1" and body["waitUntilAnswered"] is True
    with pytest.raises(ValueError, match="OUTBOUND_TRUNK_ID"):
        await call_back(client, settings(url, livekit_outbound_trunk_id=""), number="+1", room="call-x")


async def test_hangup_removes_the_sip_participant_through_the_room_service() -> None:
    async with fake_livekit() as (fake, url):
        async with open_livekit_api(settings(url)) as client:
            control = ServerCallControl(client, rtc.Room(), "call-abc", "sip_1")
            await control.remove_caller()
        assert fake.methods == ["RemoveParticipant"]
        assert fake.requests[0].body == {"room": "call-abc", "identity": "sip_1"}
        assert fake.requests[0].claims.video is not None and fake.requests[0].claims.video.room_admin


async def test_an_unreachable_server_is_a_clear_error() -> None:
    config = settings("ws://127.0.0.1:9")
    async with open_livekit_api(config) as client:
        with pytest.raises(LiveKitUnreachable, match="unreachable"):
            await provision(config, client)


@pytest.fixture
def fake_livekit_in_thread() -> Iterator[tuple[FakeLiveKit, str]]:
    """The fake server on its own loop, so the CLI can run its own asyncio.run in the test thread."""
    loop = asyncio.new_event_loop()
    started: list[tuple[FakeLiveKit, str]] = []
    stop = asyncio.Event()
    ready = threading.Event()

    async def serve() -> None:
        async with fake_livekit() as running:
            started.append(running)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield started[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def test_cli_provision_prints_created_then_updated(
    fake_livekit_in_thread: tuple[FakeLiveKit, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = fake_livekit_in_thread
    monkeypatch.setenv("AGENT_LIVEKIT_URL", url)
    monkeypatch.setenv("AGENT_LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("AGENT_LIVEKIT_API_SECRET", SECRET)
    monkeypatch.setenv("AGENT_LIVEKIT_SIP_NUMBERS", '["+15551230000"]')
    monkeypatch.setenv("AGENT_LIVEKIT_SIP_OUTBOUND_ADDRESS", "sip.provider.example")
    monkeypatch.setenv("AGENT_LOG_LEVEL", "warning")
    assert main(["livekit", "provision"]) == 0
    assert main(["livekit", "provision"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("inbound trunk created: ST_1") and out[1].startswith(
        "dispatch rule created: SDR_1"
    )
    assert out[2] == "outbound trunk created: ST_out_1 (dealership-outbound)"
    assert out[3].startswith("inbound trunk updated: ST_1") and out[4].startswith(
        "dispatch rule updated: SDR_1"
    )
    assert out[5] == "outbound trunk updated: ST_out_1 (dealership-outbound)"
    assert len(fake.trunks) == 1 and len(fake.rules) == 1 and len(fake.outbound) == 1


def test_cli_provision_exits_1_with_a_message_when_livekit_is_down(tmp_path: Any) -> None:
    env = {"AGENT_LIVEKIT_URL": "ws://127.0.0.1:9", "AGENT_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "agent", "livekit", "provision"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "unreachable" in done.stderr and "Traceback" not in done.stderr
