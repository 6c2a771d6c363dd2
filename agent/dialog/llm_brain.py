"""The LLM brain: the offline brain first, the model only where it is unsure, each value credited to its brain."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Final

from agent import metrics
from agent.config import DialogSettings
from agent.dialog.brain import Brain, Clause, Routing, SlotUpdate
from agent.dialog.llm import LlmClient, LlmUnavailable, Understanding
from agent.dialog.llm_grounding import grounded
from agent.dialog.llm_prompt import system_prompt, understand_schema
from agent.dialog.nlu.contacts import has_number_loop, parse_phone
from agent.dialog.nlu.names import parse_name
from agent.dialog.nlu.services import match_service
from agent.dialog.slot_parsing import when_said
from agent.dialog.speech_format import speakable
from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.transcript import recent_turns
from agent.dialog.vehicle_match import find_vehicle
from agent.log import get_logger
from agent.store.models import DealershipInfo

log = get_logger(__name__)

# Below this the offline classifier is guessing and the model is asked. At 0.6 the model took part in 11 of
# the scenario suite's 120 turns and 12 of the typed corpus's 220 (benchmarks.brain_turns), every one passed.
SURE_AT: Final = 0.6
# Asked for a detail (a day, a name, a service) and given none our parsers could read: the model may.
_ASKS_FOR_A_DETAIL: Final = frozenset(
    {"action", "service", "vehicle", "day", "time", "name", "phone", "change"}
)

_YES_NO_QUESTIONS: Final = frozenset({"confirm", "caller_id"})
_REMEMBERED_SESSIONS: Final = 256

_ASKING = {
    "confirm": "a yes/no confirmation of the booking",
    "caller_id": "a yes/no: may we reach them at the number they are calling from",
    "choice": "which of the offered times they want",
    "change": "which detail of the booking to change",
    "code": "the confirmation code of their existing appointment",
    "detail": "the day or the service of their existing appointment",
}


def describe_context(state: ConversationState) -> str:
    """One line telling the model where the conversation stands (what the agent just asked)."""
    slots = state.booking_slots
    if not slots.is_active():
        return "no booking in progress"
    known = {
        "service": slots.service_type,
        "vehicle": slots.vehicle,
        "date": slots.preferred_date,
        "time": slots.preferred_time,
        "name": slots.customer_name,
    }
    said = ", ".join(f"{k}={v}" for k, v in known.items() if v)
    asking = _ASKING.get(slots.awaiting or "", slots.awaiting)
    return f"{slots.action} in progress; agent asked for: {asking or 'nothing'}; known: {said or 'nothing'}"


def _heard(value: str, utterance: str) -> bool:
    """Most of the value's words are the caller's own (the model copies; it must not make things up)."""
    words = set(re.findall(r"[a-z0-9']+", utterance.lower()))
    value_words = re.findall(r"[a-z0-9']+", value.lower())
    return bool(value_words) and sum(word in words for word in value_words) * 2 >= len(value_words)


def _touches(value: str, utterance: str) -> bool:
    """Some word of the value starts like one of the caller's ("Brake inspection" for "my brakes grind")."""
    stems = {word[:4] for word in re.findall(r"[a-z]{4,}", utterance.lower())}
    return any(word[:4] in stems for word in re.findall(r"[a-z]{4,}", value.lower()))


def _last_agent_words(state: ConversationState) -> str:
    said = [text for role, text in recent_turns(state, limit=3) if role == "agent"]
    return said[-1] if said else ""


class LlmBrain(Brain):
    """Our parsers and classifier answer first (milliseconds); the model answers what they are unsure of,
    and questions the FAQ does not hold. Anything the model cannot answer is the offline brain's, counted."""

    name = "llm"

    def __init__(self, client: LlmClient, fallback: Brain, tools: DealershipTools, facts: str = "") -> None:
        self._client = client
        self._fallback = fallback
        self._tools = tools
        self._facts = facts
        self._warm_up: asyncio.Task[bool] | None = None
        # Per session, the model's answer about its latest utterance (route and extract share it); calls in
        # one process interleave, so one slot for the whole process would make them ask twice.
        self._asked: dict[str, tuple[tuple[int, str], Understanding | None]] = {}

    @classmethod
    def from_settings(
        cls, settings: DialogSettings, *, fallback: Brain, tools: DealershipTools, info: DealershipInfo
    ) -> LlmBrain:
        facts = system_prompt(info, tools.knowledge)
        client = LlmClient(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout_s=settings.llm_timeout_s,
            temperature=settings.llm_temperature,
            system_prompt=facts,
            understand_schema=understand_schema(tools.knowledge),
        )
        return cls(client, fallback, tools, facts)

    def start_warm_up(self) -> None:
        """Evaluate the fixed prompt prefix now (about a minute on 2 cores), not on a caller's turn."""
        if self._warm_up is None:
            self._warm_up = asyncio.create_task(self._client.warm_up(), name="llm-warm-up")

    async def route(self, text: str, state: ConversationState) -> Routing:
        offline = await self._fallback.route(text, state)
        if offline.intent != "unknown" and offline.confidence >= SURE_AT:
            return offline
        understood = await self._understand(text, state, "route")
        if understood is None:
            return replace(offline, source="offline-fallback")
        if understood.intent == "unknown":
            return replace(offline, source="llm")  # the model is no surer: the offline guess stands
        if understood.intent in ("affirm", "deny") and state.booking_slots.awaiting in _YES_NO_QUESTIONS:
            # A booking is written, or a number kept, only on a yes our parsers heard ("Now." is not one).
            return offline
        return Routing(understood.intent, max(offline.confidence, SURE_AT), source="llm")

    async def details_heard(self, text: str, state: ConversationState) -> SlotUpdate:
        # Only to tell a fragment from small talk: our parsers, no model call for "hi" or "yes".
        return await self._fallback.extract(text, state)

    async def split_requests(self, text: str) -> list[Clause]:
        return await self._fallback.split_requests(text)

    async def extract(self, text: str, state: ConversationState) -> SlotUpdate:
        offline = (await self._fallback.extract(text, state)).credited("offline")
        understood = self._understood(text, state)
        if understood is None and self._worth_asking(offline, text, state):
            understood = await self._understand(text, state, "extract")
            if understood is None:
                return replace(offline, source="offline-fallback")
        if understood is None:
            return offline
        # Our parsers' readings win (they know corrections, loops, spans of days, the caller's own digits);
        # the model fills only what they missed, and each value says who heard it.
        merged = offline.merged_with(self._normalise(understood, text, state).credited("llm"))
        return replace(merged, source="llm" if "llm" in merged.found_by.values() else "offline")

    async def answer_question(self, text: str, state: ConversationState) -> str | None:
        try:
            answer = await self._client.answer(text)
        except LlmUnavailable as exc:
            self._fell_back("answer", exc.reason, str(exc))
            return None
        if not answer.known or not answer.reply or not answer.fact:
            log.info("llm_answer_not_in_facts")
            return None
        refused = grounded(text, answer.fact, answer.reply, self._facts)
        if refused is not None:
            # An answer that does not rest on one line of the dealership's data is never said to a caller.
            self._fell_back("answer", refused, answer.reply)
            return None
        return speakable(answer.reply)

    def _understood(self, text: str, state: ConversationState) -> Understanding | None:
        asked = self._asked.get(state.session_id)
        return asked[1] if asked is not None and asked[0] == (state.turn_count, text) else None

    def _worth_asking(self, offline: SlotUpdate, text: str, state: ConversationState) -> bool:
        """A booking asked for a detail, our parsers found none, and the caller said more than a word or two."""
        awaiting = state.booking_slots.awaiting
        return (
            offline.is_empty()
            and awaiting in _ASKS_FOR_A_DETAIL
            and len(text.split()) >= 3
            and not has_number_loop(text)
        )

    async def _understand(self, text: str, state: ConversationState, step: str) -> Understanding | None:
        """One model request per utterance (route and extract share it); None when the model failed."""
        asked = self._asked.get(state.session_id)
        if asked is not None and asked[0] == (state.turn_count, text):
            return asked[1]
        try:
            understood: Understanding | None = await self._client.understand(
                text, _last_agent_words(state), describe_context(state)
            )
        except LlmUnavailable as exc:
            self._fell_back(step, exc.reason, str(exc))
            understood = None
        self._asked.pop(state.session_id, None)
        self._asked[state.session_id] = ((state.turn_count, text), understood)
        while len(self._asked) > _REMEMBERED_SESSIONS:
            self._asked.pop(next(iter(self._asked)))  # the session asked longest ago
        return understood

    def _fell_back(self, step: str, reason: str, detail: str) -> None:
        metrics.brain_fallback(step, reason)
        log.warning("llm_fallback", step=step, reason=reason, error=detail[:300])

    def _normalise(self, understood: Understanding, text: str, state: ConversationState) -> SlotUpdate:
        """The model names things; our parsers turn them into dates, catalogue rows and numbers, and only
        what the caller said in this utterance counts (a model copies names and cars from the context)."""
        knowledge = self._tools.knowledge
        extraction = understood.booking()
        awaiting = state.booking_slots.awaiting
        when = None
        if extraction.date_text and _heard(extraction.date_text, text):
            when = when_said(extraction.date_text, self._tools.now())
        service = None
        # A service the caller described (asked for one, opening a service booking, or in words like its
        # name); never one the model picked while the caller talked about a day or a name.
        describes = awaiting == "service" or (
            understood.intent == "book_service" and not state.booking_slots.is_active()
        )
        if extraction.service and (describes or _touches(extraction.service, text)):
            service = match_service(extraction.service, knowledge.services)
        vehicle = None
        if extraction.vehicle and _heard(extraction.vehicle, text):
            vehicle = find_vehicle(extraction.vehicle, knowledge.inventory)
        name = None
        if extraction.name and _heard(extraction.name, text):  # asked or not: the caller's own words
            name = parse_name(extraction.name, expecting_name=True)
        phone = None
        if extraction.phone and awaiting == "phone" and not has_number_loop(text):
            phone = parse_phone(extraction.phone)
        return SlotUpdate(
            appointment_type=extraction.appointment_type,
            service=service[0] if service else None,
            vehicle=vehicle,
            vehicle_words=extraction.vehicle if vehicle else None,
            day=when.day if when else None,
            time=when.time if when else None,
            part_of_day=when.part_of_day if when else None,
            day_range=when.day_range if when else None,
            name=name,
            phone=phone,
        )

    async def aclose(self) -> None:
        if self._warm_up is not None and not self._warm_up.done():
            self._warm_up.cancel()
            await asyncio.gather(self._warm_up, return_exceptions=True)
        await self._client.aclose()
        await self._fallback.aclose()
