"""Conversation state survives a JSON round trip; spoken formats read the way people say them."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agent.dialog.nodes.router import choose_route
from agent.dialog.speech_format import (
    say_code,
    say_date,
    say_date_time,
    say_phone,
    say_price,
    say_price_range,
    say_time,
    say_times,
    say_when,
)
from agent.dialog.state import BackgroundTask, BookingSlots, ConversationState, Notification
from agent.store.state_store import MemoryStateStore

pytestmark = pytest.mark.unit


def _rich_state() -> ConversationState:
    return ConversationState(
        session_id="sess_x",
        messages=[HumanMessage("I need an oil change"), AIMessage("What day works?", name="booking")],
        detected_intent="book_service",
        confidence=0.93,
        booking_slots=BookingSlots(
            action="book", service_type="Oil change", service_type_id=1, awaiting="day"
        ),
        pending_tasks=[BackgroundTask(task_id="esc_1", status="running")],
        notifications_queue=[
            Notification(notification_id="n1", message="Sarah is free", priority="interrupt")
        ],
        turn_count=3,
    )


def test_state_round_trips_through_json_without_loss() -> None:
    state = _rich_state()
    again = ConversationState.from_json(state.to_json())
    assert again == state
    assert isinstance(again.messages[0], HumanMessage)
    assert isinstance(again.messages[1], AIMessage)
    assert again.messages[1].name == "booking"


async def test_memory_store_keeps_state_and_drains_notifications_once() -> None:
    store = MemoryStateStore(ttl_s=60)
    await store.set("s1", _rich_state().to_json())
    loaded = await store.get("s1")
    assert loaded is not None and ConversationState.from_json(loaded).turn_count == 3
    await store.push_notification("s1", {"notification_id": "a"})
    await store.push_notification("s1", {"notification_id": "b"})
    assert [n["notification_id"] for n in await store.drain_notifications("s1")] == ["a", "b"]
    assert await store.drain_notifications("s1") == []
    await store.delete("s1")
    assert await store.get("s1") is None
    await store.aclose()
    await store.aclose()


async def test_memory_store_expires_sessions() -> None:
    store = MemoryStateStore(ttl_s=-1)
    await store.set("s1", {"session_id": "s1"})
    assert await store.get("s1") is None


@pytest.mark.parametrize(
    ("value", "spoken"),
    [
        (time(10, 0), "10 in the morning"),
        (time(14, 30), "2:30 in the afternoon"),
        (time(12, 0), "noon"),
        (time(18, 0), "6 in the evening"),
    ],
)
def test_times_are_said_like_people_say_them(value: time, spoken: str) -> None:
    assert say_time(value) == spoken


def test_dates_prices_phones_and_codes() -> None:
    assert say_date(date(2026, 12, 1)) == "Tuesday, December 1st"
    assert say_date(date(2026, 11, 26), today=date(2026, 11, 25)) == "tomorrow, Thursday, November 26th"
    assert say_date(date(2026, 11, 25), today=date(2026, 11, 25)) == "today, Wednesday, November 25th"
    assert say_price(19875) == "19,875 dollars"
    assert say_price_range(49, 89) == "between 49 and 89 dollars"
    assert say_phone("+15550142233") == "555, 014, 2233"
    assert say_code("k7p2q9") == "K 7 P 2 Q 9"


def test_read_back_days_say_weekday_and_date_and_never_on_tomorrow() -> None:
    today = date(2026, 11, 25)
    tomorrow_nine = datetime(2026, 11, 26, 9, 0)
    assert say_when(tomorrow_nine, today) == "tomorrow, Thursday, November 26th at 9 in the morning"
    assert (
        say_when(datetime(2026, 11, 27, 14, 30), today) == "on Friday, November 27th at 2:30 in the afternoon"
    )
    assert say_date_time(datetime(2026, 12, 4, 13, 0), today) == "Friday, December 4th at 1 in the afternoon"
    assert not re.search(r"\bon tomorrow", f"a tire rotation {say_when(tomorrow_nine, today)}")


def test_several_times_of_one_day_share_their_part_of_the_day() -> None:
    assert say_times([time(12, 0), time(14, 30), time(16, 0)]) == "noon, 2:30, or 4 in the afternoon"
    assert say_times([time(9, 0), time(14, 0)]) == "9 in the morning or 2 in the afternoon"


@pytest.mark.parametrize(
    ("intent", "booking_active", "route"),
    [
        ("escalation", True, "escalation"),
        ("book_service", False, "booking"),
        ("affirm", True, "booking"),
        ("affirm", False, "faq"),
        ("faq", True, "faq"),
        ("inventory", False, "faq"),
        ("provide_info", False, "booking"),
        ("cancel", False, "booking"),
    ],
)
def test_router_exits(intent: str, booking_active: bool, route: str) -> None:
    slots = BookingSlots(action="book") if booking_active else BookingSlots()
    state = ConversationState(session_id="s", detected_intent=intent, booking_slots=slots)  # type: ignore[arg-type]
    assert choose_route(state) == route
