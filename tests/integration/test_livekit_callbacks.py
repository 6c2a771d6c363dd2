"""Callbacks dialled when due through the outbound trunk that `livekit provision` creates (recording Twirp server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.config import LiveKitSettings
from agent.store.backends import open_database_at
from agent.store.callbacks import Callbacks
from agent.store.models import Callback
from agent.tasks.callback_dialer import CallbackDialer, DialPolicy
from telephony.livekit.sip_admin import dial_callback, open_livekit_api, provision
from tests.integration.conftest import ROOT
from tests.livekit_twirp import KEY, SECRET, fake_livekit

pytestmark = pytest.mark.integration

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def settings(url: str, **overrides: Any) -> LiveKitSettings:
    values: dict[str, Any] = {
        "livekit_url": url,
        "livekit_api_key": KEY,
        "livekit_api_secret": SECRET,
        "livekit_sip_numbers": ("+15551230000",),
        "livekit_sip_outbound_address": "sip.provider.example",
        "livekit_sip_outbound_auth_username": "riverside",
        "livekit_sip_outbound_auth_password": "outbound-pass",
    }
    values.update(overrides)
    return LiveKitSettings(_env_file=None, **values)


@pytest.fixture
async def callbacks(tmp_path: Path) -> AsyncIterator[Callbacks]:
    database = await open_database_at(tmp_path / "dealership.db", ROOT / "fixtures" / "dealership.yaml")
    try:
        yield Callbacks(database, TZ)
    finally:
        await database.aclose()


async def test_provision_creates_the_outbound_trunk_then_updates_it_in_place() -> None:
    async with fake_livekit() as (fake, url):
        first = settings(url)
        async with open_livekit_api(first) as client:
            done = await provision(first, client)
            again = await provision(
                settings(url, livekit_sip_outbound_address="sip2.provider.example"), client
            )
        assert (done.outbound_action, again.outbound_action) == ("created", "updated")
        assert done.outbound_trunk_id == again.outbound_trunk_id and len(fake.outbound) == 1
        created = next(r.body for r in fake.requests if r.method.endswith("CreateSIPOutboundTrunk"))
        assert created["trunk"] == {
            "name": "dealership-outbound",
            "address": "sip.provider.example",
            "numbers": ["+15551230000"],
            "authUsername": "riverside",
            "authPassword": "outbound-pass",
        }
        updated = next(r.body for r in fake.requests if r.method.endswith("UpdateSIPOutboundTrunk"))
        assert updated["replace"]["address"] == "sip2.provider.example"
        # without an outbound address nothing outbound is touched
        fake.requests.clear()
        async with open_livekit_api(settings(url, livekit_sip_outbound_address="")) as client:
            inbound_only = await provision(settings(url, livekit_sip_outbound_address=""), client)
        assert inbound_only.outbound_action is None
        assert not [r for r in fake.requests if "Outbound" in r.method]


async def test_a_callback_dials_through_the_provisioned_trunk_found_by_name() -> None:
    async with fake_livekit() as (fake, url):
        config = settings(url)
        async with open_livekit_api(config) as client:
            trunk_id = (await provision(config, client)).outbound_trunk_id
        fake.requests.clear()
        info = await dial_callback(config, number="+15557654321", room="call-callback-7-ab12")
        assert info.room_name == "call-callback-7-ab12"
        dialled = next(r for r in fake.requests if r.method.endswith("CreateSIPParticipant"))
        assert dialled.body["sipTrunkId"] == trunk_id and dialled.body["sipCallTo"] == "+15557654321"
        assert dialled.body["roomName"].startswith("call-") and dialled.body["waitUntilAnswered"] is True
        assert dialled.claims.sip is not None and dialled.claims.sip.call
        with pytest.raises(ValueError, match="no outbound trunk"):
            await dial_callback(
                settings(url, livekit_sip_outbound_trunk_name="another"), number="+1555", room="call-x"
            )


async def test_due_callbacks_are_dialled_once_and_unanswered_ones_retried_then_given_up(
    callbacks: Callbacks,
) -> None:
    due = NOW - timedelta(minutes=1)
    answering = await callbacks.schedule(
        session_id="s1", phone="+15557654321", name="Maria", reason="no human free", due_at=due
    )
    silent = await callbacks.schedule(
        session_id="s2", phone="+15550000001", name=None, reason="all lines were busy", due_at=due
    )
    later = await callbacks.schedule(
        session_id="s3",
        phone="+15550000002",
        name=None,
        reason="no human free",
        due_at=NOW + timedelta(hours=1),
    )
    clock = [NOW]
    async with fake_livekit() as (fake, url):
        config = settings(url)
        async with open_livekit_api(config) as client:
            await provision(config, client)
        fake.unanswered.add("+15550000001")

        async def dial(callback: Callback) -> object:
            room = f"call-callback-{callback.id}"
            return await dial_callback(config, number=callback.phone or "", room=room)

        policy = DialPolicy(poll_s=1, retry_after_s=600, attempts=2)
        dialer = CallbackDialer(callbacks, dial, policy, clock=lambda: clock[0])
        assert await dialer.dial_due() == [answering.id]
        assert await dialer.dial_due() == []  # nothing due again: the silent one waits 10 minutes
        clock[0] = NOW + timedelta(minutes=11)
        assert await dialer.dial_due() == []  # second and last try, not answered either
        dialled = [r.body["sipCallTo"] for r in fake.requests if r.method.endswith("CreateSIPParticipant")]
        assert dialled == ["+15557654321", "+15550000001", "+15550000001"]
    status = {callback.id: callback.status for callback in await callbacks.list()}
    assert status == {answering.id: "done", silent.id: "cancelled", later.id: "scheduled"}


async def test_two_dialers_on_one_database_dial_a_callback_once(callbacks: Callbacks) -> None:
    """Two agent processes share the database: the row is claimed before it is dialled."""
    await callbacks.schedule(
        session_id="s1", phone="+15557654321", name=None, reason="no human free", due_at=NOW - timedelta(1)
    )
    placed: list[str] = []

    async def dial(callback: Callback) -> object:
        placed.append(callback.phone or "")
        return None

    first = CallbackDialer(callbacks, dial, clock=lambda: NOW)
    second = CallbackDialer(callbacks, dial, clock=lambda: NOW)
    results = await asyncio.gather(first.dial_due(), second.dial_due())
    assert placed == ["+15557654321"] and sorted(len(r) for r in results) == [0, 1]


async def test_a_callback_without_a_number_is_cancelled_not_dialled(callbacks: Callbacks) -> None:
    nobody = await callbacks.schedule(
        session_id="s1", phone=None, name="Dana", reason="no human free", due_at=NOW - timedelta(1)
    )

    async def dial(_callback: Callback) -> object:
        raise AssertionError("nothing to dial")

    assert await CallbackDialer(callbacks, dial, clock=lambda: NOW).dial_due() == []
    assert [c.status for c in await callbacks.list() if c.id == nobody.id] == ["cancelled"]
