"""Read the conversation's messages as the caller and the agent said them."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage

from agent.dialog.state import ConversationState


def last_caller_text(state: ConversationState) -> str:
    for message in reversed(state.messages):
        if isinstance(message, HumanMessage):
            return str(message.content)
    return ""


def recent_turns(state: ConversationState, limit: int = 6) -> list[tuple[str, str]]:
    """The last few (role, text) pairs, role being 'caller' or 'agent', oldest first."""
    turns: list[tuple[str, str]] = []
    for message in state.messages[-limit:]:
        if isinstance(message, HumanMessage):
            turns.append(("caller", str(message.content)))
        elif isinstance(message, AIMessage):
            turns.append(("agent", str(message.content)))
    return turns
