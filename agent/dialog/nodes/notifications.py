"""check_notifications: take what background work has reported since the last turn, to be said first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agent.dialog.state import ConversationState, HumanStatus, Notification
from agent.dialog.tools.dealership import DealershipTools

_PRIORITY_ORDER = {"interrupt": 0, "high": 1, "normal": 2}


def absorb_notifications(notes: Sequence[Notification]) -> tuple[list[str], dict[str, Any]]:
    """The sentences to say (most urgent first) and the state changes the notifications imply."""
    ordered = sorted(notes, key=lambda n: (_PRIORITY_ORDER[n.priority], n.created_at))
    update: dict[str, Any] = {}
    for note in ordered:
        if note.human_available is None:
            continue
        status: HumanStatus = "available" if note.human_available else "callback_scheduled"
        update["human_agent_status"] = status
        update["human_agent_name"] = note.human_agent_name
        update["escalation_in_progress"] = False
    return [n.message for n in ordered], update


def make_check_notifications_node(
    tools: DealershipTools,
) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    async def check_notifications(state: ConversationState) -> dict[str, Any]:
        arrived = await tools.take_notifications(state.session_id)
        tasks = await tools.tasks_of(state.session_id) or state.pending_tasks
        spoken, changes = absorb_notifications([*state.notifications_queue, *arrived])
        return {
            "pending_tasks": tasks,
            "notifications_queue": [],
            "spoken_notifications": spoken,
            "draft_reply": "",
            "reply": "",
            **changes,
        }

    return check_notifications
