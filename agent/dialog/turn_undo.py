"""Taking a turn back: what a session was before its last turn, kept while that turn changed nothing lasting."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from agent.dialog.state import ConversationState

UNDO_SESSIONS = 2048  # sessions whose last turn can still be taken back (one turn each)


@dataclass(frozen=True)
class LastTurn:
    """What a session was before its last turn, so the turn can be taken back if it changed nothing lasting."""

    turn_id: str
    text: str
    before: dict[str, Any]
    turn_count: int  # the state's count right after the turn: any later turn makes it final


def lasting(before: ConversationState, after: ConversationState) -> bool:
    """A turn whose effects cannot be undone: a booking written or cancelled, a human asked for. A goodbye is not:
    its one lasting effect, the hang-up, comes when it is said, so one still unsaid (an answer prepared in the
    caller's silence: "Yeah. Bye." that was "Yeah, hi, uh, I want ...") can be taken back."""
    return (
        (after.booking_slots.completed and not before.booking_slots.completed)
        or len(after.pending_tasks) != len(before.pending_tasks)
        or after.escalation_in_progress != before.escalation_in_progress
        or after.human_agent_status != before.human_agent_status
    )


class TurnUndo:
    """The last revocable turn of each recent session (bounded: the oldest sessions are forgotten first)."""

    def __init__(self, limit: int = UNDO_SESSIONS) -> None:
        self._limit = limit
        self._last: OrderedDict[str, LastTurn] = OrderedDict()

    def remember(self, session_id: str, last: LastTurn | None) -> None:
        """The session's last turn (None: nothing can be taken back any more)."""
        if last is None:
            self._last.pop(session_id, None)
            return
        self._last[session_id] = last
        self._last.move_to_end(session_id)
        while len(self._last) > self._limit:
            self._last.popitem(last=False)

    def last(self, session_id: str) -> LastTurn | None:
        return self._last.get(session_id)
