"""POST /livekit/webhook over loopback HTTP: signatures verified, SIP callers dispatched, agent tokens least-granted."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from livekit import api

from agent.calls.io import CallIO
from agent.config import Settings
from agent.server import livekit_webhook
from agent.server.app import add_livekit_calls
from agent.server.errors import request_context
from agent.server.keys import LIVEKIT_CALLS, SETTINGS
from telephony.livekit.dispatch import LiveKitCallDispatcher, RoomJoiner
from telephony.livekit.room_call import LiveKitRoomCall
from telephony.livekit.room_connect import RoomAccess, agent_token
from tests.livekit_local import LocalRoom, eventually, local_room

pytestmark = pytest.mark.integration

KEY = "testkey"
SECRET = "testsecret-testsecret-testsecret-0123"
ROOM = "call-_+15551230000_Xy7a"


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"livekit_api_key": KEY, "livekit_api_secret": SECRET, "log_level": "warning"}
    values.update(overrides)
    return Settings(**values)


def webhook_body(
    *, event: str = "participant_joined", room: str = ROOM, identity: str = "sip_+15551230000", kind: int = 3
) -> bytes:
    message = api.WebhookEvent(
        event=event,
        id="EV_test",
        created_at=1_700_000_000,
        room=api.Room(name=room, sid="RM_test"),
        participant=api.ParticipantInfo(
            identity=identity,
            sid="PA_test",
            kind=kind,  # type: ignore[arg-type]
            attributes={"sip.phoneNumber": "+15551230000"},
        ),
    )
    return json_format.MessageToJson(message).encode()


def signature(body: bytes, *, key: str = KEY, secret: str = SECRET, ttl_s: int = 300) -> str:
    """What LiveKit server sends: a JWT signed with the API secret carrying the body's SHA-256."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return api.AccessToken(key, secret).with_sha256(digest).with_ttl(timedelta(seconds=ttl_s)).to_jwt()


class LocalJoiner(RoomJoiner):
    """Joins no server: each call is a LiveKitRoomCall on local tracks."""

    def __init__(self) -> None:
        self.joined: list[tuple[str, str]] = []
        self.rooms: list[LocalRoom] = []
        self._stack = AsyncExitStack()

    async def join(self, room: str, caller_identity: str) -> LiveKitRoomCall:
        self.joined.append((room, caller_identity))
        local = await self._stack.enter_async_context(local_room(call_id=room))
        self.rooms.append(local)
        return local.call

    async def aclose(self) -> None:
        await self._stack.aclose()


class Calls:
    """The call handler a transport is given: records each call and ends it when told."""

    def __init__(self) -> None:
        self.started: list[CallIO] = []
        self.arrived = asyncio.Event()
        self.finish = asyncio.Event()

    async def __call__(self, call: CallIO) -> None:
        self.started.append(call)
        self.arrived.set()
        await self.finish.wait()


@asynccontextmanager
async def webhook_server(
    calls: Calls, joiner: RoomJoiner
) -> AsyncIterator[tuple[TestClient[Any, Any], LiveKitCallDispatcher]]:
    app = web.Application(middlewares=[request_context])
    app[SETTINGS] = settings()
    dispatcher = LiveKitCallDispatcher(calls, joiner, room_prefix="call-")
    app[LIVEKIT_CALLS] = dispatcher
    app.add_routes(livekit_webhook.routes)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, dispatcher
    finally:
        calls.finish.set()
        await dispatcher.aclose()
        await client.close()


async def post(client: TestClient[Any, Any], body: bytes, token: str | None) -> int:
    headers = {"Content-Type": "application/webhook+json"}
    if token is not None:
        headers["Authorization"] = token
    response = await client.post("/livekit/webhook", data=body, headers=headers)
    return response.status


async def test_a_signed_sip_join_starts_one_call_that_is_hung_up_when_the_session_ends() -> None:
    calls, joiner = Calls(), LocalJoiner()
    async with webhook_server(calls, joiner) as (client, dispatcher):
        body = webhook_body()
        assert await post(client, body, signature(body)) == 200
        assert await post(client, body, f"Bearer {signature(body)}") == 200  # LiveKit's retry: same call
        async with asyncio.timeout(5):
            await calls.arrived.wait()
        assert joiner.joined == [(ROOM, "sip_+15551230000")]
        assert [c.call_id for c in calls.started] == [ROOM]
        assert dispatcher.active_rooms == [ROOM]
        calls.finish.set()
        await eventually(lambda: not dispatcher.active_rooms)
        control = joiner.rooms[0].control
        assert (control.removed, control.left) == (1, 1)


@pytest.mark.parametrize(
    "body",
    [
        webhook_body(kind=0),  # a browser caller in a call- room: the browser transport handles it
        webhook_body(kind=4),  # an agent (us)
        webhook_body(room="support-room"),  # not a room our dispatch rule makes
        webhook_body(event="participant_left"),
        webhook_body(event="room_finished"),
    ],
)
async def test_other_events_are_acknowledged_and_start_nothing(body: bytes) -> None:
    calls, joiner = Calls(), LocalJoiner()
    async with webhook_server(calls, joiner) as (client, dispatcher):
        assert await post(client, body, signature(body)) == 200
        await asyncio.sleep(0.05)
        assert joiner.joined == [] and dispatcher.active_rooms == []


async def test_forged_expired_and_unsigned_webhooks_are_refused_with_401() -> None:
    calls, joiner = Calls(), LocalJoiner()
    async with webhook_server(calls, joiner) as (client, _):
        body = webhook_body()
        tampered = body.replace(b"+15551230000", b"+19005550100")
        assert tampered != body
        assert await post(client, tampered, signature(body)) == 401
        assert await post(client, body, signature(body, ttl_s=-3600)) == 401  # expired an hour ago
        assert await post(client, body, signature(body, secret="another-secret-another-secret-0123")) == 401
        assert await post(client, body, signature(body, key="otherkey")) == 401
        assert await post(client, body, None) == 401
        assert await post(client, body, "not-a-jwt") == 401
        unhashed = api.AccessToken(KEY, SECRET).with_ttl(timedelta(minutes=5)).to_jwt()
        assert await post(client, body, unhashed) == 401
        await asyncio.sleep(0.05)
        assert joiner.joined == []


@pytest.mark.parametrize(
    "garbage", [b"not json at all", b"[1, 2, 3]", b'{"event": 5, "room": "x"}', b"\xff\xfe\x00", b"{}", b""]
)
async def test_signed_but_unreadable_bodies_get_400(garbage: bytes) -> None:
    calls, joiner = Calls(), LocalJoiner()
    async with webhook_server(calls, joiner) as (client, _):
        assert await post(client, garbage, signature(garbage)) == 400
        assert joiner.joined == []


async def test_the_app_wires_the_dispatcher_and_survives_an_unreachable_livekit() -> None:
    """The real joiner against a closed port: the call fails to join, is logged, and nothing crashes."""
    app = web.Application(middlewares=[request_context])
    app[SETTINGS] = settings(livekit_enabled=True, livekit_url="ws://127.0.0.1:9", livekit_join_timeout_s=1)
    add_livekit_calls(app)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        dispatcher = app[LIVEKIT_CALLS]
        assert isinstance(dispatcher, LiveKitCallDispatcher)
        body = webhook_body()
        assert await post(client, body, signature(body)) == 200
        assert dispatcher.active_rooms == [ROOM]
        assert await post(client, b"{}", signature(body)) == 401
        # the SDK retries the connection a few times, then gives up
        await eventually(lambda: not dispatcher.active_rooms, timeout_s=30)
        left = webhook_body(event="participant_left")
        assert await post(client, left, signature(left)) == 200  # still serving
    finally:
        await client.close()


def test_the_agent_joins_with_a_token_for_one_room_and_least_grants() -> None:
    access = RoomAccess(url="ws://127.0.0.1:7880", api_key=KEY, api_secret=SECRET, token_ttl_s=120)
    claims = api.TokenVerifier(KEY, SECRET).verify(agent_token(access, ROOM))
    assert claims.identity == f"agent-{ROOM}"
    assert claims.kind == "agent"
    video = claims.video
    assert video is not None
    assert video.room == ROOM and video.room_join
    assert video.can_subscribe and video.can_publish
    assert video.can_publish_sources == ["microphone"]
    assert not video.can_publish_data and not video.can_update_own_metadata
    assert not any((video.room_admin, video.room_create, video.room_list, video.room_record, video.hidden))
    assert not any((video.ingress_admin, video.agent))
    assert claims.sip is None or not (claims.sip.admin or claims.sip.call)
    with pytest.raises(Exception):  # noqa: B017 - pyjwt's error type: another key must not verify it
        api.TokenVerifier(KEY, "another-secret-another-secret-0123").verify(agent_token(access, ROOM))
