"""The respond node: the only text that reaches the caller (notifications first, then the answer)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage

from agent.dialog.state import ConversationState

_MARKUP = re.compile(r"[*_`#>\[\]{}<>|]")
_SPACES = re.compile(r"\s+")


def for_the_ear(text: str) -> str:
    """Strip anything a voice would read out literally (markdown, brackets, JSON) and tidy spaces."""
    return _SPACES.sub(" ", _MARKUP.sub("", text)).strip()


async def respond(state: ConversationState) -> dict[str, Any]:
    parts = [*state.spoken_notifications, state.draft_reply or "Sorry, could you say that again?"]
    reply = for_the_ear(" ".join(p for p in parts if p))
    return {
        "reply": reply,
        "last_reply": reply,
        "messages": [AIMessage(content=reply, name=state.current_agent)],
        "turn_count": state.turn_count + 1,
        "last_updated": datetime.now(UTC),
    }
