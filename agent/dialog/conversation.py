"""Conversations: start a session, run one caller turn through the graph, save state, publish events."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import weakref
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from langchain_core.messages import AIMessage, HumanMessage

from agent import metrics
from agent.dialog.nodes.notifications import absorb_notifications
from agent.dialog.speech_format import say_when
from agent.dialog.state import ConversationState, CustomerContext
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.turn_undo import LastTurn as _LastTurn
from agent.dialog.turn_undo import TurnUndo
from agent.dialog.turn_undo import lasting as _lasting
from agent.log import bind_ids, get_logger
from agent.store.phone_numbers import normalize_phone
from agent.store.state_store import StateStore

log = get_logger(__name__)


class UnknownSession(LookupError):
    """No live session with that id (never created, ended, or expired)."""


class EventSink(Protocol):
    async def publish(self, session_id: str, event: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class TurnResult:
    state: ConversationState
    processing_ms: float
    turn_id: str = ""  # names this turn in its `latency` events (a call reports it again, in full)
    revocable: bool = False  # nothing lasting came of it: `take_back` can still undo it

    @property
    def reply(self) -> str:
        return self.state.reply

    @property
    def caught(self) -> bool:
        """False when the answer says the words were not understood (a call may then listen again)."""
        return not NOT_CAUGHT.search(self.state.reply)


# How the dialog says it did not understand (booking_prompts, booking, faq, respond).
NOT_CAUGHT = re.compile(
    r"\bSorry, (?:I didn't catch that|I'm not sure about that one|could you say that again|which one was that"
    r"|I'm not getting it|I'm having trouble with the number|I didn't get your name|which car was that)"
)


def state_event(state: ConversationState) -> dict[str, Any]:
    """The WebSocket `state_update` message for a state."""
    dumped = state.to_json()
    return {
        "type": "state_update",
        "session_id": state.session_id,
        "current_agent": state.current_agent,
        "intent": state.detected_intent,
        "confidence": round(state.confidence, 3),
        "customer": dumped["customer"],
        "booking_slots": dumped["booking_slots"],
        "pending_tasks": dumped["pending_tasks"],
        "escalation_in_progress": state.escalation_in_progress,
        "human_agent_status": state.human_agent_status,
        "turn_count": state.turn_count,
        "ended": state.ended,
    }


async def publish_turn(events: EventSink, state: ConversationState, turn_id: str, elapsed_ms: float) -> None:
    """What a console shows of a turn: the reply, the new state, the brain's time."""
    session_id = state.session_id
    reply = {"type": "transcript", "session_id": session_id, "role": "assistant", "content": state.reply}
    await events.publish(session_id, {**reply, "agent_type": state.current_agent})
    await events.publish(session_id, state_event(state))
    timing = {"turn_id": turn_id, "brain_ms": round(elapsed_ms, 1), "total_ms": round(elapsed_ms, 1)}
    await events.publish(session_id, {"type": "latency", "session_id": session_id, "data": timing})


def _count_turn(state: ConversationState, elapsed_ms: float) -> None:
    """A turn's log line and its brain's count (which brain understood it, who wrote the reply)."""
    metrics.brain_turn(state.understood_by)
    log.info(
        "turn",
        intent=state.detected_intent,
        agent=state.current_agent,
        ms=round(elapsed_ms, 1),
        understood_by=state.understood_by,
        reply_by=state.reply_by,
    )


class Conversations:
    """The one entry to the dialog for every channel (HTTP chat today; calls and replay build on it)."""

    def __init__(
        self,
        graph: Any,
        store: StateStore,
        tools: DealershipTools,
        events: EventSink,
        dealership_name: str,
    ) -> None:
        self._graph = graph
        self._store = store
        self._tools = tools
        self._events = events
        self._dealership_name = dealership_name
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._undo = TurnUndo()

    def _lock(self, session_id: str) -> asyncio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[session_id] = lock
        return lock

    async def start(
        self,
        caller_phone: str | None = None,
        channel: Literal["chat", "voice"] = "chat",
        *,
        caller_verified: bool = False,
    ) -> ConversationState:
        """Create a session, recognise a known caller by phone number, and greet them.

        `caller_verified`: a trusted trunk vouches for the number (LiveKit SIP, a trusted SIP peer). Without
        it the number is a claim: a known customer is greeted by first name, but the dialog reads nothing
        else of the record back, and changing or cancelling a booking needs its confirmation code."""
        session_id = f"sess_{secrets.token_urlsafe(12)}"
        caller_id = normalize_phone(caller_phone) if caller_phone else None
        customer = CustomerContext(phone=caller_id)
        known = await self._tools.get_customer(caller_phone) if caller_phone else None
        if known is not None:
            customer = CustomerContext(
                customer_id=known.id,
                name=known.name,
                phone=known.phone,
                email=known.email,
                vehicles=[{"make": v.make, "model": v.model, "year": v.year} for v in known.vehicles],
            )
        first_name = (customer.name or "").split(" ")[0]
        hello = f"Hi {first_name}, thanks" if first_name else "Thanks"
        greeting = f"{hello} for calling {self._dealership_name}. How can I help you today?"
        state = ConversationState(
            session_id=session_id,
            customer=customer,
            caller_id=caller_id,
            caller_verified=caller_verified and caller_id is not None,
            channel=channel,
            messages=[AIMessage(content=greeting, name="respond")],
            reply=greeting,
            last_reply=greeting,
        )
        await self._store.set(session_id, state.to_json())
        bind_ids(session_id=session_id)
        log.info(
            "session_started",
            session_id=session_id,
            known_customer=known is not None,
            caller_verified=state.caller_verified,
        )
        return state

    async def get(self, session_id: str) -> ConversationState:
        data = await self._store.get(session_id)
        if data is None:
            raise UnknownSession(session_id)
        return ConversationState.from_json(data)

    async def handle_turn(self, session_id: str, text: str) -> TurnResult:
        """Run one caller utterance through the graph; turns of one session never overlap."""
        bind_ids(session_id=session_id)
        async with self._lock(session_id):
            state = await self.get(session_id)
            started = time.perf_counter()
            await self._events.publish(
                session_id, {"type": "transcript", "session_id": session_id, "role": "user", "content": text}
            )
            turn_input = state.model_copy(update={"messages": [*state.messages, HumanMessage(content=text)]})
            result = await self._graph.ainvoke(turn_input)
            new_state = ConversationState.model_validate(result)
            await self._store.set(session_id, new_state.to_json())
            elapsed_ms = (time.perf_counter() - started) * 1000
            turn_id = f"turn_{secrets.token_hex(6)}"
            revocable = not _lasting(state, new_state)
            self._undo.remember(
                session_id,
                _LastTurn(turn_id, text, state.to_json(), new_state.turn_count) if revocable else None,
            )
        await publish_turn(self._events, new_state, turn_id, elapsed_ms)
        _count_turn(new_state, elapsed_ms)
        return TurnResult(new_state, elapsed_ms, turn_id, revocable)

    async def take_back(self, session_id: str, turn_id: str) -> str | None:
        """Undo the session's last turn when nothing lasting came of it (no booking written, no human asked
        for, not the goodbye): a caller who went on speaking after it is then answered once, for the whole
        utterance. Returns that turn's words, or None when it cannot be taken back."""
        async with self._lock(session_id):
            last = self._undo.last(session_id)
            if last is None or last.turn_id != turn_id:
                return None
            state = await self.get(session_id)
            if state.turn_count != last.turn_count:  # another turn came after it
                return None
            await self._store.set(session_id, last.before)
            self._undo.remember(session_id, None)
        log.info("turn_taken_back", turn_id=turn_id)
        await self._events.publish(
            session_id, {"type": "turn_taken_back", "session_id": session_id, "turn_id": turn_id}
        )
        return last.text

    async def deliver_notifications(self, session_id: str) -> list[str]:
        """Take notifications that landed since the last turn, to be spoken now (a call does not wait for
        the caller's next turn); they enter the history and will not be repeated by check_notifications."""
        async with self._lock(session_id):
            notes = await self._tools.take_notifications(session_id)
            if not notes:
                return []
            self._undo.remember(session_id, None)  # what was said since is part of the conversation now
            state = await self.get(session_id)
            spoken, changes = absorb_notifications(notes)
            text = " ".join(spoken)
            messages = [*state.messages, AIMessage(content=text, name="notification")]
            updated = state.model_copy(
                update={**changes, "messages": messages, "reply": text, "last_reply": text}
            )
            await self._store.set(session_id, updated.to_json())
        await self._publish_notification_text(session_id, text)
        await self._events.publish(session_id, state_event(updated))
        return spoken

    async def _publish_notification_text(self, session_id: str, text: str) -> None:
        """What the agent said on its own initiative (not as a reply), for the live transcript."""
        await self._events.publish(
            session_id,
            {
                "type": "transcript",
                "session_id": session_id,
                "role": "assistant",
                "content": text,
                "agent_type": "notification",
            },
        )

    async def record_heard(self, session_id: str, heard: str) -> None:
        """After a barge-in, keep in the history only what the caller actually heard of the last reply."""
        async with self._lock(session_id):
            state = await self.get(session_id)
            for index in range(len(state.messages) - 1, -1, -1):
                message = state.messages[index]
                if isinstance(message, AIMessage):
                    cut = AIMessage(content=heard or "...", name=message.name, id=message.id)
                    messages = [*state.messages[:index], cut, *state.messages[index + 1 :]]
                    await self._store.set(
                        session_id, state.model_copy(update={"messages": messages}).to_json()
                    )
                    return

    async def transfer_finished(self, session_id: str, *, ok: bool, target: str) -> str:
        """Record how a transfer to the available human went; on failure book a call back and return
        what to tell the caller (empty on success: the caller is with the human now)."""
        async with self._lock(session_id):
            state = await self.get(session_id)
            self._undo.remember(session_id, None)
            human = state.human_agent_name or "our team"
            if ok:
                updated = state.model_copy(update={"human_agent_status": "transferred"})
                text = ""
            else:
                due = await self._tools.humans.schedule_callback(
                    session_id, f"transfer to {human} failed", state.customer
                )
                text = (
                    f"I'm sorry, I couldn't get you through to {human}. "
                    f"I've scheduled a call back for you {say_when(due, self._tools.now().date())}."
                )
                messages = [*state.messages, AIMessage(content=text, name="notification")]
                updated = state.model_copy(
                    update={
                        "human_agent_status": "callback_scheduled",
                        "messages": messages,
                        "reply": text,
                        "last_reply": text,
                    }
                )
            await self._store.set(session_id, updated.to_json())
        log.info("transfer_recorded", ok=ok, target=target)
        await self._events.publish(
            session_id, {"type": "transfer", "session_id": session_id, "ok": ok, "target": target}
        )
        if text:
            await self._publish_notification_text(session_id, text)
        await self._events.publish(session_id, state_event(updated))
        return text

    async def end(self, session_id: str) -> bool:
        """End a session: cancel its background work and forget its state."""
        async with self._lock(session_id):
            exists = await self._store.get(session_id) is not None
            await self._tools.humans.cancel_session(session_id)
            await self._store.delete(session_id)
            self._undo.remember(session_id, None)
        if exists:
            await self._events.publish(session_id, {"type": "session_ended", "session_id": session_id})
        return exists
