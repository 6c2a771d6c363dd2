"""EventHub fan-out: per-session watchers, all-session watchers with filters, and the operator feed's filter."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiohttp import web

from agent.server.events import ALL_SESSIONS, OPERATORS, EventHub
from agent.server.operator_ws import OperatorFeed

pytestmark = pytest.mark.unit


class FakeSocket:
    """Stands in for a WebSocketResponse: records what was sent; `stuck` never finishes a send."""

    def __init__(self, *, stuck: bool = False) -> None:
        self.closed = False
        self.sent: list[dict[str, Any]] = []
        self.stuck = stuck
        self.close_code: int | None = None

    async def send_json(self, event: dict[str, Any]) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(event)

    async def close(self, *, code: int, message: bytes) -> None:
        self.closed = True
        self.close_code = code


def ws(socket: FakeSocket) -> web.WebSocketResponse:
    return cast(web.WebSocketResponse, socket)


def queued(subscriber: Any) -> list[dict[str, Any]]:
    items = []
    while not subscriber.queue.empty():
        items.append(subscriber.queue.get_nowait())
    return items


async def test_all_sessions_watcher_gets_every_channel_and_session_watcher_only_its_own() -> None:
    hub = EventHub()
    everything = hub.subscribe(ALL_SESSIONS, ws(FakeSocket()))
    one = hub.subscribe("s1", ws(FakeSocket()))
    await hub.publish("s1", {"type": "transcript", "n": 1})
    await hub.publish("s2", {"type": "transcript", "n": 2})
    await hub.publish(OPERATORS, {"type": "call_started", "n": 3})
    assert [e["n"] for e in queued(everything)] == [1, 2, 3]
    assert [e["n"] for e in queued(one)] == [1]
    assert hub.watchers(ALL_SESSIONS) == 1
    assert hub.watchers("s1") == 1


async def test_filter_decides_at_publish_time_and_a_broken_filter_harms_no_one_else() -> None:
    hub = EventHub()
    picky = hub.subscribe(ALL_SESSIONS, ws(FakeSocket()), accepts=lambda channel, _: channel == "s2")

    def broken(channel: str, event: dict[str, Any]) -> bool:
        raise ValueError("bug in a filter")

    faulty = hub.subscribe(ALL_SESSIONS, ws(FakeSocket()), accepts=broken)
    plain = hub.subscribe("s1", ws(FakeSocket()))
    await hub.publish("s1", {"n": 1})
    await hub.publish("s2", {"n": 2})
    assert [e["n"] for e in queued(picky)] == [2]
    assert queued(faulty) == []
    assert [e["n"] for e in queued(plain)] == [1]


async def test_unsubscribing_all_sessions_stops_delivery() -> None:
    hub = EventHub()
    everything = hub.subscribe(ALL_SESSIONS, ws(FakeSocket()))
    hub.unsubscribe(ALL_SESSIONS, everything)
    await hub.publish("s1", {"n": 1})
    assert queued(everything) == []
    assert hub.watchers(ALL_SESSIONS) == 0


async def test_a_stuck_all_sessions_socket_never_slows_publish_and_loses_only_its_oldest_events() -> None:
    hub = EventHub()
    stuck_socket = FakeSocket(stuck=True)
    stuck = hub.subscribe(ALL_SESSIONS, ws(stuck_socket))
    pump = asyncio.create_task(stuck.pump())
    healthy_socket = FakeSocket()
    healthy = hub.subscribe("s1", ws(healthy_socket))
    healthy_pump = asyncio.create_task(healthy.pump())
    try:
        for n in range(600):
            await asyncio.wait_for(hub.publish("s1", {"n": n}), timeout=1.0)
        for _ in range(100):
            if len(healthy_socket.sent) == 600:
                break
            await asyncio.sleep(0.01)
        assert [e["n"] for e in healthy_socket.sent] == list(range(600))
        assert stuck.dropped > 0
        left = queued(stuck)
        assert left[-1]["n"] == 599  # the newest events are kept
        assert len(left) + stuck.dropped == 599  # one event is in the stuck send
    finally:
        for task in (pump, healthy_pump):
            task.cancel()
        await asyncio.gather(pump, healthy_pump, return_exceptions=True)


async def test_aclose_closes_all_session_watchers_too() -> None:
    hub = EventHub()
    socket = FakeSocket()
    hub.subscribe(ALL_SESSIONS, ws(socket))
    await hub.aclose()
    assert socket.closed
    assert socket.close_code == 1001
    assert hub.watchers(ALL_SESSIONS) == 0


async def test_operator_feed_follows_calls_and_passes_only_their_sessions() -> None:
    hub = EventHub()
    feed = OperatorFeed()
    feed.replace([{"call_id": "c1", "session_id": "s1"}, {"call_id": "c0", "session_id": None}])
    operator = hub.subscribe(ALL_SESSIONS, ws(FakeSocket()), accepts=feed.accepts)
    await hub.publish("s1", {"type": "transcript", "n": 1})
    await hub.publish("chat-only", {"type": "transcript", "n": 2})  # a console chat, not a call
    await hub.publish(OPERATORS, {"type": "call_started", "call_id": "c2", "session_id": "s2", "n": 3})
    await hub.publish("s2", {"type": "transcript", "n": 4})
    await hub.publish(OPERATORS, {"type": "call_ended", "call_id": "c2", "session_id": "s2", "n": 5})
    await hub.publish("s2", {"type": "transcript", "n": 6})
    assert [e["n"] for e in queued(operator)] == [1, 3, 4, 5]
    assert feed.calls == {"c1": "s1", "c0": None}


def test_operator_feed_reports_when_the_live_calls_changed() -> None:
    feed = OperatorFeed()
    assert feed.replace([{"call_id": "c1", "session_id": None}])
    assert not feed.replace([{"call_id": "c1", "session_id": None}])
    assert feed.replace([{"call_id": "c1", "session_id": "s1"}])  # the session id became known
    assert feed.sessions == {"s1"}
