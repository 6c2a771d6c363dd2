"""LiveKit SIP administration (livekit-api): provision the inbound trunk and dispatch rule, transfer, call back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import aiohttp
from livekit import api

from agent.config import LiveKitSettings
from agent.log import get_logger

log = get_logger(__name__)

Action = Literal["created", "updated"]


class LiveKitUnreachable(RuntimeError):
    """The LiveKit server did not answer (down, wrong URL, or a network problem)."""


@dataclass(frozen=True)
class Provisioned:
    trunk_id: str
    trunk_action: Action
    rule_id: str
    rule_action: Action
    outbound_trunk_id: str = ""  # empty: no outbound address configured, none provisioned
    outbound_action: Action | None = None


@asynccontextmanager
async def open_livekit_api(
    settings: LiveKitSettings, *, timeout_s: float = 10.0
) -> AsyncIterator[api.LiveKitAPI]:
    """A LiveKit server API client for the configured server and key, closed on exit."""
    client = api.LiveKitAPI(
        settings.livekit_url,
        settings.livekit_api_key,
        settings.livekit_api_secret.get_secret_value(),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )
    try:
        yield client
    finally:
        await client.aclose()


def inbound_trunk(settings: LiveKitSettings) -> api.SIPInboundTrunkInfo:
    """The dealership's inbound trunk as the settings describe it (no id: for create and replace)."""
    return api.SIPInboundTrunkInfo(
        name=settings.livekit_sip_trunk_name,
        numbers=list(settings.livekit_sip_numbers),
        allowed_addresses=list(settings.livekit_sip_allowed_addresses),
        auth_username=settings.livekit_sip_auth_username,
        auth_password=settings.livekit_sip_auth_password.get_secret_value(),
    )


def outbound_trunk(settings: LiveKitSettings) -> api.SIPOutboundTrunkInfo:
    """The trunk callbacks go out through: the provider's SIP host, calling from the dealership's numbers."""
    return api.SIPOutboundTrunkInfo(
        name=settings.livekit_sip_outbound_trunk_name,
        address=settings.livekit_sip_outbound_address,
        numbers=list(settings.livekit_sip_numbers),
        auth_username=settings.livekit_sip_outbound_auth_username,
        auth_password=settings.livekit_sip_outbound_auth_password.get_secret_value(),
    )


def dispatch_rule(settings: LiveKitSettings, trunk_id: str) -> api.SIPDispatchRuleInfo:
    """One room per caller, named with the configured prefix; only calls through our trunk."""
    return api.SIPDispatchRuleInfo(
        name=settings.livekit_sip_dispatch_rule_name,
        trunk_ids=[trunk_id],
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=settings.livekit_room_prefix)
        ),
    )


async def provision(settings: LiveKitSettings, client: api.LiveKitAPI) -> Provisioned:
    """Create or update the inbound trunk and the dispatch rule, matched by name (so reruns change nothing new)."""
    try:
        trunks = await client.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
        wanted_trunk = inbound_trunk(settings)
        existing_trunk = next((t for t in trunks.items if t.name == wanted_trunk.name), None)
        trunk_action: Action
        if existing_trunk is None:
            trunk = await client.sip.create_inbound_trunk(
                api.CreateSIPInboundTrunkRequest(trunk=wanted_trunk)
            )
            trunk_action = "created"
        else:
            trunk = await client.sip.update_inbound_trunk(existing_trunk.sip_trunk_id, wanted_trunk)
            trunk_action = "updated"
        trunk_id = trunk.sip_trunk_id or (existing_trunk.sip_trunk_id if existing_trunk else "")

        rules = await client.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
        wanted_rule = dispatch_rule(settings, trunk_id)
        existing_rule = next((r for r in rules.items if r.name == wanted_rule.name), None)
        rule_action: Action
        if existing_rule is None:
            rule = await client.sip.create_dispatch_rule(
                api.CreateSIPDispatchRuleRequest(dispatch_rule=wanted_rule)
            )
            rule_action = "created"
        else:
            rule = await client.sip.update_dispatch_rule(existing_rule.sip_dispatch_rule_id, wanted_rule)
            rule_action = "updated"
        rule_id = rule.sip_dispatch_rule_id or (existing_rule.sip_dispatch_rule_id if existing_rule else "")
        outbound = (
            await _provision_outbound(settings, client) if settings.livekit_sip_outbound_address else None
        )
    except (aiohttp.ClientConnectionError, TimeoutError) as exc:
        raise LiveKitUnreachable(f"LiveKit server at {settings.livekit_url} is unreachable: {exc}") from exc
    log.info("livekit_provisioned", trunk_id=trunk_id, trunk=trunk_action, rule_id=rule_id, rule=rule_action)
    return Provisioned(
        trunk_id=trunk_id,
        trunk_action=trunk_action,
        rule_id=rule_id,
        rule_action=rule_action,
        outbound_trunk_id=outbound[0] if outbound else "",
        outbound_action=outbound[1] if outbound else None,
    )


async def _provision_outbound(settings: LiveKitSettings, client: api.LiveKitAPI) -> tuple[str, Action]:
    """Create or update the outbound trunk, matched by name like the inbound one."""
    wanted = outbound_trunk(settings)
    trunks = await client.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    existing = next((t for t in trunks.items if t.name == wanted.name), None)
    if existing is None:
        trunk = await client.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=wanted))
        return trunk.sip_trunk_id, "created"
    trunk = await client.sip.update_outbound_trunk(existing.sip_trunk_id, wanted)
    return trunk.sip_trunk_id or existing.sip_trunk_id, "updated"


async def outbound_trunk_id(client: api.LiveKitAPI, settings: LiveKitSettings) -> str:
    """AGENT_LIVEKIT_OUTBOUND_TRUNK_ID, else the id of the trunk `provision` made (found by its name)."""
    if settings.livekit_outbound_trunk_id:
        return settings.livekit_outbound_trunk_id
    trunks = await client.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    for trunk in trunks.items:
        if trunk.name == settings.livekit_sip_outbound_trunk_name:
            return str(trunk.sip_trunk_id)
    raise ValueError(
        "no outbound trunk for callbacks: set AGENT_LIVEKIT_SIP_OUTBOUND_ADDRESS and run `livekit provision`,"
        " or set AGENT_LIVEKIT_OUTBOUND_TRUNK_ID"
    )


async def transfer_caller(client: api.LiveKitAPI, *, room: str, identity: str, target: str) -> bool:
    """Cold-transfer a SIP participant (REFER); True only when LiveKit reports the transfer succeeded.

    The target must already have passed the transfer allow-list: this function does not judge it.
    """
    try:
        response = await client.sip.transfer_sip_participant(
            api.TransferSIPParticipantRequest(
                room_name=room, participant_identity=identity, transfer_to=target, play_dialtone=False
            )
        )
    except api.TwirpError as exc:
        log.warning("livekit_transfer_error", room=room, target=target, error=str(exc))
        return False
    # Older servers answer an empty response (status ONGOING = 0) once the REFER was accepted.
    return bool(response.status != api.SIPTransferStatus.STS_TRANSFER_FAILED)


async def call_back(
    client: api.LiveKitAPI,
    settings: LiveKitSettings,
    *,
    number: str,
    room: str,
    identity: str | None = None,
    trunk_id: str | None = None,
) -> api.SIPParticipantInfo:
    """Dial a customer through the outbound trunk into `room`; the agent joins it like any SIP call.

    Name the room with the configured prefix so the webhook dispatch picks the call up. `trunk_id` defaults
    to AGENT_LIVEKIT_OUTBOUND_TRUNK_ID.
    """
    trunk = trunk_id or settings.livekit_outbound_trunk_id
    if not trunk:
        raise ValueError("AGENT_LIVEKIT_OUTBOUND_TRUNK_ID is not set: no outbound trunk for callbacks")
    return await client.sip.create_sip_participant(
        api.CreateSIPParticipantRequest(
            sip_trunk_id=trunk,
            sip_call_to=number,
            room_name=room,
            participant_identity=identity or f"sip-{number}",
            participant_attributes={"dealership.callback": "true"},
            wait_until_answered=True,
        )
    )


async def dial_callback(settings: LiveKitSettings, *, number: str, room: str) -> api.SIPParticipantInfo:
    """One callback: find the outbound trunk, dial `number` into `room`, return once it was answered.
    Raises when it was not (busy, no answer, a refused number) or LiveKit is unreachable."""
    async with open_livekit_api(settings, timeout_s=90.0) as client:  # ringing counts against the timeout
        trunk = await outbound_trunk_id(client, settings)
        return await call_back(client, settings, number=number, room=room, trunk_id=trunk)
