"""A loopback LiveKit Twirp server that decodes and records every request (trunks, rules, dial-outs, transfers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message
from livekit import api
from livekit.api.access_token import Claims

KEY = "testkey"
SECRET = "testsecret-testsecret-testsecret-0123"

# Twirp method -> (request type, response type); the SDK speaks binary protobuf over POST.
METHODS: dict[str, tuple[type[Message], type[Message]]] = {
    "livekit.SIP/ListSIPInboundTrunk": (api.ListSIPInboundTrunkRequest, api.ListSIPInboundTrunkResponse),
    "livekit.SIP/CreateSIPInboundTrunk": (api.CreateSIPInboundTrunkRequest, api.SIPInboundTrunkInfo),
    "livekit.SIP/UpdateSIPInboundTrunk": (api.UpdateSIPInboundTrunkRequest, api.SIPInboundTrunkInfo),
    "livekit.SIP/ListSIPDispatchRule": (api.ListSIPDispatchRuleRequest, api.ListSIPDispatchRuleResponse),
    "livekit.SIP/CreateSIPDispatchRule": (api.CreateSIPDispatchRuleRequest, api.SIPDispatchRuleInfo),
    "livekit.SIP/UpdateSIPDispatchRule": (api.UpdateSIPDispatchRuleRequest, api.SIPDispatchRuleInfo),
    "livekit.SIP/TransferSIPParticipant": (
        api.TransferSIPParticipantRequest,
        api.TransferSIPParticipantResponse,
    ),
    "livekit.SIP/ListSIPOutboundTrunk": (api.ListSIPOutboundTrunkRequest, api.ListSIPOutboundTrunkResponse),
    "livekit.SIP/CreateSIPOutboundTrunk": (api.CreateSIPOutboundTrunkRequest, api.SIPOutboundTrunkInfo),
    "livekit.SIP/UpdateSIPOutboundTrunk": (api.UpdateSIPOutboundTrunkRequest, api.SIPOutboundTrunkInfo),
    "livekit.SIP/CreateSIPParticipant": (api.CreateSIPParticipantRequest, api.SIPParticipantInfo),
    "livekit.RoomService/RemoveParticipant": (api.RoomParticipantIdentity, api.RemoveParticipantResponse),
}


@dataclass
class Recorded:
    method: str
    body: dict[str, Any]
    claims: Claims


@dataclass
class FakeLiveKit:
    """Records every Twirp request (decoded, with its verified token) and keeps trunks and rules in memory."""

    requests: list[Recorded] = field(default_factory=list)
    trunks: dict[str, api.SIPInboundTrunkInfo] = field(default_factory=dict)
    rules: dict[str, api.SIPDispatchRuleInfo] = field(default_factory=dict)
    transfer_status: int = api.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
    outbound: dict[str, api.SIPOutboundTrunkInfo] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)  # numbers whose phone does not pick up

    @property
    def methods(self) -> list[str]:
        return [r.method.split("/")[1] for r in self.requests]

    async def handle(self, request: web.Request) -> web.Response:
        method = f"{request.match_info['service']}/{request.match_info['method']}"
        if method not in METHODS:
            return web.json_response({"code": "bad_route", "msg": method}, status=404)
        try:
            claims = api.TokenVerifier(KEY, SECRET).verify(
                request.headers["Authorization"].removeprefix("Bearer ")
            )
        except Exception:
            return web.json_response({"code": "unauthenticated", "msg": "bad token"}, status=401)
        request_type, _ = METHODS[method]
        message = request_type.FromString(await request.read())
        self.requests.append(Recorded(method, json_format.MessageToDict(message), claims))
        if method.endswith("CreateSIPParticipant") and message.sip_call_to in self.unanswered:
            return web.json_response({"code": "unavailable", "msg": "no answer"}, status=503)
        reply = self.answer(method, message)
        return web.Response(body=reply.SerializeToString(), content_type="application/protobuf")

    def answer(self, method: str, message: Any) -> Message:
        name = method.split("/")[1]
        if name == "ListSIPInboundTrunk":
            return api.ListSIPInboundTrunkResponse(items=list(self.trunks.values()))
        if name == "CreateSIPInboundTrunk":
            trunk = api.SIPInboundTrunkInfo()
            trunk.CopyFrom(message.trunk)
            trunk.sip_trunk_id = f"ST_{len(self.trunks) + 1}"
            self.trunks[trunk.sip_trunk_id] = trunk
            return trunk
        if name == "UpdateSIPInboundTrunk":
            trunk = api.SIPInboundTrunkInfo()
            trunk.CopyFrom(message.replace)
            trunk.sip_trunk_id = message.sip_trunk_id
            self.trunks[trunk.sip_trunk_id] = trunk
            return trunk
        if name == "ListSIPDispatchRule":
            return api.ListSIPDispatchRuleResponse(items=list(self.rules.values()))
        if name in ("CreateSIPDispatchRule", "UpdateSIPDispatchRule"):
            rule = api.SIPDispatchRuleInfo()
            rule.CopyFrom(message.dispatch_rule if name.startswith("Create") else message.replace)
            rule.sip_dispatch_rule_id = (
                f"SDR_{len(self.rules) + 1}" if name.startswith("Create") else message.sip_dispatch_rule_id
            )
            self.rules[rule.sip_dispatch_rule_id] = rule
            return rule
        if name.endswith("OutboundTrunk"):
            return self.answer_outbound(name, message)
        if name == "TransferSIPParticipant":
            return api.TransferSIPParticipantResponse(transfer_id="TR_1", status=self.transfer_status)  # type: ignore[arg-type]
        if name == "CreateSIPParticipant":
            return api.SIPParticipantInfo(
                participant_id="PA_1",
                participant_identity=message.participant_identity,
                room_name=message.room_name,
                sip_call_id="SCL_1",
            )
        return api.RemoveParticipantResponse()

    def answer_outbound(self, name: str, message: Any) -> Message:
        if name == "ListSIPOutboundTrunk":
            return api.ListSIPOutboundTrunkResponse(items=list(self.outbound.values()))
        trunk = api.SIPOutboundTrunkInfo()
        trunk.CopyFrom(message.trunk if name.startswith("Create") else message.replace)
        trunk.sip_trunk_id = (
            f"ST_out_{len(self.outbound) + 1}" if name.startswith("Create") else message.sip_trunk_id
        )
        self.outbound[trunk.sip_trunk_id] = trunk
        return trunk

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/twirp/{service}/{method}", self.handle)
        return app


@asynccontextmanager
async def fake_livekit() -> AsyncIterator[tuple[FakeLiveKit, str]]:
    fake = FakeLiveKit()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield fake, f"ws://127.0.0.1:{port}"  # the SDK turns ws:// into http:// for the API
    finally:
        await runner.cleanup()
