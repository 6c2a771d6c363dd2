"""One call per room across processes: two dispatchers sharing one real Redis, and a webhook delivered to both."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from google.protobuf import json_format
from livekit import api

from agent.calls.io import CallIO
from telephony.livekit.dispatch import LiveKitCallDispatcher, RoomJoiner
from telephony.livekit.room_call import LiveKitRoomCall
from telephony.livekit.room_claims import LocalRoomClaims, RedisRoomClaims, RoomClaims
from tests.integration.agent_processes import free_port
from tests.integration.test_livekit_webhook import webhook_body
from tests.livekit_local import eventually, local_room

pytestmark = pytest.mark.integration


class CountingJoiner(RoomJoiner):
    def __init__(self) -> None:
        self.joined: list[str] = []
        self._stack = AsyncExitStack()

    async def join(self, room: str, caller_identity: str) -> LiveKitRoomCall:
        self.joined.append(room)
        return (await self._stack.enter_async_context(local_room(call_id=room))).call

    async def aclose(self) -> None:
        await self._stack.aclose()


class HeldCalls:
    """The call handler: each call lasts until the test lets it end."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.end = asyncio.Event()

    async def __call__(self, call: CallIO) -> None:
        self.started.append(call.call_id)
        await self.end.wait()


def joined_event(room: str) -> api.WebhookEvent:
    return json_format.Parse(webhook_body(room=room), api.WebhookEvent(), ignore_unknown_fields=True)


@asynccontextmanager
async def process(
    claims: RoomClaims,
) -> AsyncIterator[tuple[LiveKitCallDispatcher, CountingJoiner, HeldCalls]]:
    """What one agent process runs for LiveKit: a dispatcher with its own joiner and its own claims client."""
    joiner, calls = CountingJoiner(), HeldCalls()
    dispatcher = LiveKitCallDispatcher(calls, joiner, room_prefix="call-", claims=claims)
    try:
        yield dispatcher, joiner, calls
    finally:
        calls.end.set()
        await dispatcher.aclose()


async def test_a_webhook_retried_to_another_process_is_handled_once(redis_url: str) -> None:
    room = f"call-_+15551230000_{uuid.uuid4().hex[:8]}"
    async with (
        process(RedisRoomClaims(redis_url, ttl_s=5)) as (first, first_joiner, first_calls),
        process(RedisRoomClaims(redis_url, ttl_s=5)) as (second, second_joiner, second_calls),
    ):
        first.on_webhook(joined_event(room))
        second.on_webhook(joined_event(room))  # LiveKit's retry, through the balancer to the other process
        await eventually(lambda: len(first_calls.started) + len(second_calls.started) == 1)
        await asyncio.sleep(0.3)
        assert len(first_joiner.joined) + len(second_joiner.joined) == 1
        holder, other = (first, second) if first_calls.started else (second, first)
        holder_calls = first_calls if first_calls.started else second_calls
        other_joiner = second_joiner if first_calls.started else first_joiner
        await eventually(lambda: not other.active_rooms)  # the other one gave up at the claim

        await asyncio.sleep(6.5)  # past the claim's 5 s TTL: renewed while the call goes on
        other.on_webhook(joined_event(room))
        await asyncio.sleep(0.3)
        assert other_joiner.joined == [] and holder.active_rooms == [room]

        holder_calls.end.set()
        await eventually(lambda: not holder.active_rooms)
        other.on_webhook(joined_event(room))  # a late retry once the call is over: still nothing
        await asyncio.sleep(0.3)
        assert other_joiner.joined == []


async def test_each_room_is_claimed_on_its_own(redis_url: str) -> None:
    rooms = [f"call-_+1555123000{n}_{uuid.uuid4().hex[:8]}" for n in range(3)]
    async with (
        process(RedisRoomClaims(redis_url, ttl_s=5)) as (first, first_joiner, _),
        process(RedisRoomClaims(redis_url, ttl_s=5)) as (second, second_joiner, _),
    ):
        for room in rooms:
            first.on_webhook(joined_event(room))
            second.on_webhook(joined_event(room))
        await eventually(lambda: len(first_joiner.joined) + len(second_joiner.joined) == 3)
        assert sorted(first_joiner.joined + second_joiner.joined) == sorted(rooms)


async def test_with_redis_down_the_caller_is_answered_rather_than_no_one() -> None:
    room = f"call-_+15551230000_{uuid.uuid4().hex[:8]}"
    async with process(RedisRoomClaims(f"redis://127.0.0.1:{free_port()}/0", ttl_s=5)) as (
        one,
        joiner,
        calls,
    ):
        one.on_webhook(joined_event(room))
        await eventually(lambda: calls.started == [room])
        assert joiner.joined == [room]


async def test_local_claims_hold_for_their_ttl_and_renew() -> None:
    claims = LocalRoomClaims(ttl_s=0.2)
    assert await claims.claim("call-a") and not await claims.claim("call-a")
    assert await claims.claim("call-b")
    await asyncio.sleep(0.12)
    assert await claims.renew("call-a")
    await asyncio.sleep(0.12)
    assert not await claims.claim("call-a")  # renewed: still held
    await asyncio.sleep(0.25)
    assert await claims.claim("call-a") and not await claims.renew("call-z")
