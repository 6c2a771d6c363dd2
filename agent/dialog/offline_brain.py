"""The offline brain: embeddings + rules for intents, dateparser and fuzzy matching for slots; no LLM."""

from __future__ import annotations

import asyncio
import re

from agent.dialog.brain import Brain, Routing, SlotUpdate
from agent.dialog.nlu.confirmations import is_correction, parse_yes_no
from agent.dialog.nlu.contacts import parse_email, parse_phone
from agent.dialog.nlu.datetimes import parse_when
from agent.dialog.nlu.intents import IntentClassifier
from agent.dialog.nlu.names import parse_name
from agent.dialog.nlu.services import detect_appointment_kind, match_service
from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipTools
from agent.dialog.vehicle_match import find_vehicle

_CODE = re.compile(r"\b(?:[a-z]\s?){0,2}(?:[a-z0-9]\s?){4,6}\b", re.IGNORECASE)
_CHOICES = {
    "first": 0,
    "earliest": 0,
    "earlier": 0,
    "1st": 0,
    "one": 0,
    "second": 1,
    "2nd": 1,
    "middle": 1,
    "two": 1,
    "third": 2,
    "3rd": 2,
    "last": -1,
    "later": -1,
    "latest": -1,
}
_DECLINE = re.compile(r"\b(skip\w*|no email|don'?t have (an )?email|not necessary|no thanks|no need)\b", re.I)
_EMAILISH = re.compile(r"@|\b(at|dot)\b", re.I)
_BOOKING_INTENTS = {"book_service", "book_test_drive", "cancel", "reschedule"}


def _parse_code(text: str) -> str | None:
    squashed = re.sub(r"[^a-z0-9]", "", text.lower())
    if 5 <= len(squashed) <= 8 and any(c.isdigit() for c in squashed) and any(c.isalpha() for c in squashed):
        return squashed.upper()
    match = _CODE.search(text)
    if match:
        code = re.sub(r"\s", "", match.group(0)).upper()
        if 6 <= len(code) <= 8 and any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return code
    return None


def _parse_choice(text: str) -> int | None:
    words = re.findall(r"[a-z0-9]+", text.lower())
    for word in words:
        if word in _CHOICES and ("one" in words or "option" in words or "time" in words or word != "one"):
            return _CHOICES[word]
    return None


class OfflineBrain(Brain):
    """Deterministic and fast: milliseconds per utterance, the same answer every time."""

    name = "offline"

    def __init__(self, classifier: IntentClassifier, tools: DealershipTools) -> None:
        self._classifier = classifier
        self._tools = tools
        self._last: tuple[tuple[str, int, str], SlotUpdate] | None = None

    async def route(self, text: str, state: ConversationState) -> Routing:
        intent, confidence = await asyncio.to_thread(self._classifier.classify, text)
        slots = state.booking_slots
        if not slots.is_active() or intent in _BOOKING_INTENTS:
            return Routing(intent, confidence)
        if intent == "escalation" and confidence >= 0.6:
            return Routing(intent, confidence)
        update = await self.extract(text, state)
        if slots.awaiting == "confirm" and update.yes_no is not None and not update.correction:
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
        update = await asyncio.to_thread(self._extract_sync, text, state)
        self._last = (key, update)
        return update

    def _extract_sync(self, text: str, state: ConversationState) -> SlotUpdate:
        slots = state.booking_slots
        awaiting = slots.awaiting
        knowledge = self._tools.knowledge
        when = parse_when(text, self._tools.now().replace(tzinfo=None))
        matched_service = match_service(text, knowledge.services)
        kind = detect_appointment_kind(text)
        vehicle = None
        if kind == "test_drive" or slots.appointment_type == "test_drive" or awaiting == "vehicle":
            vehicle = find_vehicle(text, knowledge.inventory)
        yes_no = parse_yes_no(text)
        email = parse_email(text, name=slots.customer_name or state.customer.name)
        phone = parse_phone(text)
        name = parse_name(text, expecting_name=awaiting == "name")
        code = _parse_code(text) if awaiting == "code" or slots.action in ("cancel", "reschedule") else None
        if code is not None and phone is not None:
            code = None
        return SlotUpdate(
            appointment_type=kind or ("test_drive" if vehicle else None),
            service=matched_service[0] if matched_service else None,
            vehicle=vehicle,
            vehicle_words=text if vehicle else None,
            day=when.day,
            time=when.time,
            part_of_day=when.part_of_day,
            name=name,
            phone=phone,
            email=email,
            yes_no=yes_no,
            correction=is_correction(text),
            confirmation_code=code,
            choice_index=_parse_choice(text) if awaiting == "choice" else None,
            declined=awaiting == "email"
            and email is None
            and (
                yes_no == "no"
                or bool(_DECLINE.search(text))
                or (len(text.split()) <= 2 and not _EMAILISH.search(text))
            ),
        )
