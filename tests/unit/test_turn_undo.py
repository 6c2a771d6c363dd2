"""Which turns can be taken back: nothing lasting came of them (a goodbye not yet said is not lasting)."""

from __future__ import annotations

import pytest

from agent.dialog.state import BookingSlots, ConversationState
from agent.dialog.turn_undo import lasting

pytestmark = pytest.mark.unit


def test_a_goodbye_can_be_taken_back_while_unsaid() -> None:
    before = ConversationState(session_id="s")
    assert not lasting(before, before.model_copy(update={"ended": True}))


def test_a_written_booking_and_a_human_asked_for_are_lasting() -> None:
    before = ConversationState(session_id="s", booking_slots=BookingSlots(action="book"))
    booked = before.model_copy(update={"booking_slots": BookingSlots(action="book", completed=True)})
    assert lasting(before, booked)
    assert lasting(before, before.model_copy(update={"escalation_in_progress": True}))
    assert not lasting(before, before.model_copy(update={"reply": "What day works best?"}))
