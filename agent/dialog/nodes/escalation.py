"""The escalation node: start the background check for a free human, and keep the caller informed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import last_caller_text


def make_escalation_node(tools: DealershipTools) -> Callable[[ConversationState], Awaitable[dict[str, Any]]]:
    async def escalation(state: ConversationState) -> dict[str, Any]:
        if state.escalation_in_progress:
            reply = "I'm still checking who's free. I'll let you know the moment I hear back."
            return {"draft_reply": reply, "current_agent": "escalation"}
        if state.human_agent_status == "available" and state.human_agent_name:
            reply = f"{state.human_agent_name} is available for you now. I'm connecting you."
            return {"draft_reply": reply, "current_agent": "escalation"}
        task = await tools.request_human(state.session_id, last_caller_text(state)[:500], state.customer)
        others = [t for t in state.pending_tasks if t.task_id != task.task_id]
        return {
            "draft_reply": (
                "Of course. Let me check who's available to talk with you. "
                "It may take a moment, and I'll tell you as soon as I know."
            ),
            "escalation_in_progress": True,
            "human_agent_status": "checking",
            "pending_tasks": [*others, task],
            "current_agent": "escalation",
        }

    return escalation
