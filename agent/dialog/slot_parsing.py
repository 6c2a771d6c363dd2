"""Booking values in one utterance by our own parsers (both brains use them); a self-correction's value wins."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from agent.dialog.brain import SlotUpdate
from agent.dialog.nlu.confirmations import correction_split, correction_tail, is_correction, parse_yes_no
from agent.dialog.nlu.contacts import parse_email, parse_phone, phone_with_correction
from agent.dialog.nlu.datetimes import WhenParse, parse_when
from agent.dialog.nlu.moves import asks_for_suggestions, keeps_same, names_slot, says_number_unknown
from agent.dialog.nlu.names import name_part, parse_name
from agent.dialog.nlu.services import detect_appointment_kind, match_service
from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipKnowledge
from agent.dialog.vehicle_match import find_vehicle

_CODE = re.compile(r"\b(?:[a-z]\s?){0,2}(?:[a-z0-9]\s?){4,6}\b", re.IGNORECASE)
_CHOICES = {
    "first": 0,
    "earliest": 0,
    "earlier": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "middle": 1,
    "third": 2,
    "3rd": 2,
    "last": -1,
    "later": -1,
    "latest": -1,
}
_COUNTED_CHOICE = re.compile(r"\b(?:option|number|choice) (one|two|three|1|2|3)\b")
_COUNTS = {"one": 0, "two": 1, "three": 2, "1": 0, "2": 1, "3": 2}
_YES_NO_ASKED = ("confirm", "caller_id", "choice")


def _spelled_code(text: str) -> str | None:
    """A code read out one character at a time ("it's X D M D U A", "k 7 p 2 q 9"): letters alone too."""
    run: list[str] = []
    runs: list[list[str]] = [run]
    for token in re.findall(r"[a-z0-9']+", text.lower().replace("’", "'")):
        if len(token) == 1 or (token.isdigit() and len(token) <= 3):
            run.append(token)
        else:
            run = []
            runs.append(run)
    codes = ["".join(r) for r in runs if 5 <= len("".join(r)) <= 8 and len(r) >= 3]
    return codes[-1].upper() if len(codes) == 1 else None


def parse_code(text: str) -> str | None:
    """A confirmation code said or typed ("K7P2Q9", "k 7 p 2 q 9", "X D M D U A"), upper-cased."""
    spelled = _spelled_code(text)
    if spelled is not None:
        return spelled
    squashed = re.sub(r"[^a-z0-9]", "", text.lower())
    if 5 <= len(squashed) <= 8 and any(c.isdigit() for c in squashed) and any(c.isalpha() for c in squashed):
        return squashed.upper()
    match = _CODE.search(text)
    if match:
        code = re.sub(r"\s", "", match.group(0)).upper()
        if 6 <= len(code) <= 8 and any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return code
    return None


def parse_choice(text: str) -> int | None:
    """Which of the offered times: "the first one" -> 0, "the last one" -> -1, "option two" -> 1."""
    lowered = text.lower()
    counted = _COUNTED_CHOICE.search(lowered)
    if counted:
        return _COUNTS[counted.group(1)]
    for word in re.findall(r"[a-z0-9]+", lowered):
        if word in _CHOICES:
            return _CHOICES[word]
    return None


def when_said(text: str, now: datetime) -> WhenParse:
    """parse_when, where what follows a self-correction replaces what came before ("Tuesday, no, Wednesday")."""
    now = now.replace(tzinfo=None)
    first = parse_when(text, now)
    tail = correction_tail(text)
    later = parse_when(tail, now) if tail else WhenParse()
    if later.is_empty:
        return first
    return WhenParse(
        day=later.day or (first.day if later.day_range is None else None),
        time=later.time or (first.time if later.part_of_day is None else None),
        part_of_day=later.part_of_day or (first.part_of_day if later.time is None else None),
        day_range=later.day_range or (first.day_range if later.day is None else None),
        matched_text=later.matched_text,
    )


@dataclass(frozen=True)
class SlotParser:
    """Parses the caller's words into a SlotUpdate, knowing what the agent asked and what the shop has."""

    knowledge: DealershipKnowledge

    def parse(self, text: str, state: ConversationState, now: datetime) -> SlotUpdate:
        now = now.replace(tzinfo=None)
        update = self._values(text, state, now, expecting_name=state.booking_slots.awaiting == "name")
        split = correction_split(text)
        if split is None or len(re.sub(r"[^A-Za-z0-9]", "", split[1])) < 2:
            return update
        before, tail = split
        test_drive = update.appointment_type == "test_drive" or update.vehicle is not None
        later = self._values(tail, state, now, expecting_name=update.name is not None, test_drive=test_drive)
        # "555, 014, 25, sorry, 2618" and "... 3344, sorry, 3345": the digits after the correction go on
        # from the number said before it.
        phone = later.phone or phone_with_correction(before, tail)
        when = when_said(text, now)
        return replace(
            later.merged_with(update),
            phone=phone or update.phone,
            day=when.day,
            time=when.time,
            part_of_day=when.part_of_day,
            day_range=when.day_range,
            yes_no=update.yes_no if later.yes_no is None else later.yes_no,
            correction=True,
        )

    def _values(
        self,
        text: str,
        state: ConversationState,
        now: datetime,
        *,
        expecting_name: bool,
        test_drive: bool = False,
    ) -> SlotUpdate:
        slots = state.booking_slots
        awaiting = slots.awaiting
        when = parse_when(text, now)
        matched_service = match_service(text, self.knowledge.services)
        kind = detect_appointment_kind(text)
        vehicle = None
        if (
            test_drive
            or kind == "test_drive"
            or slots.appointment_type == "test_drive"
            or awaiting == "vehicle"
        ):
            vehicle = find_vehicle(text, self.knowledge.inventory)
        phone = parse_phone(text)
        same_time, same_day = keeps_same(text)
        code = parse_code(text) if awaiting == "code" or slots.action in ("cancel", "reschedule") else None
        name = parse_name(text, expecting_name=expecting_name)
        # the name said with the address ("Lisa Moore, and my email is lisa dot moore ...") repairs its "dot"
        known_name = name or slots.customer_name or state.customer.name
        return SlotUpdate(
            appointment_type=kind or ("test_drive" if vehicle else None),
            service=matched_service[0] if matched_service else None,
            vehicle=vehicle,
            vehicle_words=text if vehicle else None,
            day=when.day,
            time=when.time,
            part_of_day=when.part_of_day,
            day_range=when.day_range,
            name=name,
            name_part=name_part(text),
            phone=phone,
            email=parse_email(text, name=known_name),
            yes_no=parse_yes_no(text, asked=awaiting in _YES_NO_ASKED),
            correction=is_correction(text),
            confirmation_code=code if phone is None else None,
            choice_index=parse_choice(text) if awaiting == "choice" else None,
            suggestions=asks_for_suggestions(text) if awaiting in ("day", "time", "choice") else None,
            number_unknown=awaiting == "phone" and phone is None and says_number_unknown(text),
            names_slot=names_slot(text) if awaiting == "change" else None,
            same_time=same_time,
            same_day=same_day,
        )
