"""The offline brain: embeddings + rules for intents, dateparser and fuzzy matching for slots; no LLM."""

from __future__ import annotations

import asyncio

from agent.dialog.brain import Brain, Clause, Routing, SlotUpdate
from agent.dialog.nlu.intents import IntentClassifier
from agent.dialog.nlu.moves import split_clauses
from agent.dialog.slot_parsing import SlotParser
from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipTools

_BOOKING_INTENTS = {"book_service", "book_test_drive", "cancel", "reschedule"}
_YES_NO_QUESTIONS = {"confirm", "caller_id"}


class OfflineBrain(Brain):
    """Deterministic and fast: milliseconds per utterance, the same answer every time."""

    name = "offline"

    def __init__(self, classifier: IntentClassifier, tools: DealershipTools) -> None:
        self._classifier = classifier
        self._tools = tools
        self._parser = SlotParser(tools.knowledge)
        self._last: tuple[tuple[str, int, str], SlotUpdate] | None = None

    async def route(self, text: str, state: ConversationState) -> Routing:
        intent, confidence = await asyncio.to_thread(self._classifier.classify, text)
        slots = state.booking_slots
        if not slots.is_active() or intent in _BOOKING_INTENTS:
            return Routing(intent, confidence)
        if intent == "escalation" and confidence >= 0.6:
            return Routing(intent, confidence)
        update = await self.extract(text, state)
        if slots.awaiting in _YES_NO_QUESTIONS and update.yes_no is not None and not update.correction:
            return Routing("affirm" if update.yes_no == "yes" else "deny", 0.95)
        if not update.is_empty():
            return Routing("provide_info", 0.9)
        if intent in ("faq", "inventory", "goodbye", "thanks") and confidence >= 0.5:
            return Routing(intent, confidence)
        return Routing("provide_info" if intent in ("unknown", "affirm", "deny") else intent, confidence)

    async def extract(self, text: str, state: ConversationState) -> SlotUpdate:
        # The router and the booking node both ask about the same utterance; parse it once.
        key = (state.session_id, state.turn_count, text)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        update = await asyncio.to_thread(self._parser.parse, text, state, self._tools.now())
        self._last = (key, update)
        return update

    async def split_requests(self, text: str) -> list[Clause]:
        clauses = split_clauses(text)
        if len(clauses) < 2:
            return []
        found = await asyncio.to_thread(lambda: [self._classifier.classify(c) for c in clauses])
        return [Clause(c, intent, confidence) for c, (intent, confidence) in zip(clauses, found, strict=True)]
