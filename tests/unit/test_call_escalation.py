"""While a human is being found: hold music on a long wait, then a transfer, or a call back when it fails."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from agent.audio.hold_music import hold_music_loop
from agent.calls.factory import CallFactory
from agent.calls.session import CallParts, CallSession
from agent.dialog.conversation import TurnResult
from agent.dialog.state import ConversationState
from telephony.replay import CallerTurn, ReplayCall
from tests.unit.test_call_session import (
    RATE,
    BurstSTT,
    Events,
    ScriptedConversations,
    ToneTTS,
    burst,
    scripted_config,
)

pytestmark = pytest.mark.unit
SARAH = "sip:sarah@10.0.0.5"


class EscalatingConversations(ScriptedConversations):
    """The caller asks for a person; `notes` land later (set by the test); the human is Sarah."""

    def __init__(self) -> None:
        super().__init__(["Let me check who's free. One moment."])
        self.escalating = False
        self.available = False
        self.transfers: list[tuple[bool, str]] = []

    async def handle_turn(self, session_id: str, text: str) -> TurnResult:
        result = await super().handle_turn(session_id, text)
        self.escalating = True
        state = result.state.model_copy(
            update={"escalation_in_progress": True, "current_agent": "escalation"}
        )
        return TurnResult(state, 5.0)

    async def get(self, session_id: str) -> ConversationState:
        update: dict[str, Any] = {"escalation_in_progress": self.escalating}
        if self.available:
            update.update(human_agent_status="available", human_agent_name="Sarah")
        return ConversationState(session_id=session_id).model_copy(update=update)

    async def deliver_notifications(self, session_id: str) -> list[str]:
        taken = await super().deliver_notifications(session_id)
        if taken:
            self.escalating, self.available = False, True
        return taken

    async def transfer_finished(self, session_id: str, *, ok: bool, target: str) -> str:
        self.transfers.append((ok, target))
        return "" if ok else "I'm sorry, I couldn't get you through. I've scheduled a call back for you."


class TransferringCall(ReplayCall):
    def __init__(self, *args: Any, transfer_ok: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transfer_ok = transfer_ok
        self.transferred: list[str] = []

    async def transfer(self, target: str) -> bool:
        self.transferred.append(target)
        if self.transfer_ok:
            await self.hangup()  # the caller is with the human now: our leg ends
        return self.transfer_ok


def escalation_call(
    convo: EscalatingConversations,
    *,
    transfer_ok: bool,
    hold_after_s: float | None,
    targets: dict[str, str] | None = None,
) -> tuple[CallSession, TransferringCall, ToneTTS]:
    call = TransferringCall(
        [CallerTurn(np.concatenate([burst(1.0), np.zeros(RATE * 2, np.int16)]))],
        input_rate=RATE,
        output_rate=RATE,
        realtime=True,  # hold music is paced against the wall clock, like a live line
        max_call_s=20,
        hangup_after_s=2.5,
        transfer_ok=transfer_ok,
    )
    tts = ToneTTS()
    parts = CallParts(convo, BurstSTT({1: "can I talk to a person"}), tts, Events())
    targets = {"Sarah": SARAH} if targets is None else targets
    config = scripted_config(transfer_targets=targets, hold_music_after_s=hold_after_s)
    session = CallFactory(parts, config).session(call)
    return session, call, tts


def music_in(agent_audio: np.ndarray) -> bool:
    """True when a stretch of the agent's track matches the hold-music loop sample for sample."""
    piece = hold_music_loop(RATE)[1000:3000]  # a stretch of the first chord, well past its silent attack
    starts = np.flatnonzero(agent_audio == piece[0])
    return any(np.array_equal(agent_audio[i : i + piece.size], piece) for i in starts)


async def land_notification_after(convo: EscalatingConversations, seconds: float) -> None:
    """The check for a human reports `seconds` after the caller asked for one."""
    while not convo.turns:  # noqa: ASYNC110 - polling a fake is the simplest honest trigger
        await asyncio.sleep(0.01)
    await asyncio.sleep(seconds)
    convo.notes.append("Good news: Sarah is available now and can take your call. I'm connecting you.")


async def test_a_long_wait_for_a_human_plays_hold_music_then_transfers() -> None:
    convo = EscalatingConversations()
    session, call, tts = escalation_call(convo, transfer_ok=True, hold_after_s=1.0)
    lands = asyncio.create_task(land_notification_after(convo, 5.0))
    await asyncio.wait_for(session.run(), 30)
    await lands
    agent = np.concatenate(call.log.agent)
    assert music_in(agent)
    assert call.transferred == [SARAH]
    assert session.transferred_to == SARAH and not session.transfer_failed
    assert convo.transfers == [(True, SARAH)]
    assert "I'm connecting you." in tts.said[-1]  # the caller heard where they are going first


async def test_a_failed_transfer_is_told_to_the_caller_and_no_music_on_a_short_wait() -> None:
    convo = EscalatingConversations()
    session, call, tts = escalation_call(convo, transfer_ok=False, hold_after_s=30.0)
    lands = asyncio.create_task(land_notification_after(convo, 1.0))
    await asyncio.wait_for(session.run(), 30)
    await lands
    assert call.transferred == [SARAH]
    assert session.transfer_failed and session.transferred_to is None
    assert "scheduled a call back" in tts.said[-1]
    assert not music_in(np.concatenate(call.log.agent))


async def test_no_transfer_without_a_configured_target() -> None:
    convo = EscalatingConversations()
    session, call, _ = escalation_call(convo, transfer_ok=True, hold_after_s=None, targets={})
    lands = asyncio.create_task(land_notification_after(convo, 1.0))
    await asyncio.wait_for(session.run(), 30)
    await lands
    assert call.transferred == [] and convo.transfers == []
