"""The Brain interface: what understands one caller utterance (intent, confidence, slot values)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import Literal

from agent.dialog.nlu.intents import Intent
from agent.dialog.nlu.moves import SlotName
from agent.dialog.state import ConversationState
from agent.store.models import InventoryVehicle, ServiceType


@dataclass(frozen=True)
class Routing:
    intent: Intent
    confidence: float
    source: str = "offline"


@dataclass(frozen=True)
class Clause:
    """One request of an utterance that asks for several things, with its own intent."""

    text: str
    intent: Intent
    confidence: float


@dataclass(frozen=True)
class SlotUpdate:
    """Values heard in one utterance; None means "not said" (never "cleared")."""

    appointment_type: Literal["service", "test_drive"] | None = None
    service: ServiceType | None = None
    vehicle: InventoryVehicle | None = None
    vehicle_words: str | None = None
    day: date | None = None
    time: time | None = None
    part_of_day: Literal["morning", "afternoon", "evening"] | None = None
    day_range: tuple[date, date] | None = None  # "sometime next week": a span to offer times from
    name: str | None = None
    name_part: Literal["first", "last"] | None = None  # "the last name is Watson": only that part changes
    phone: str | None = None
    email: str | None = None
    yes_no: Literal["yes", "no"] | None = None
    correction: bool = False
    confirmation_code: str | None = None
    choice_index: int | None = None
    suggestions: Literal["earliest", "any"] | None = None  # "what do you have?", "the earliest you can"
    number_unknown: bool = False  # "I don't know my number", when asked for it
    names_slot: SlotName | None = None  # "the time", answering "what should I change?"
    same_time: bool = False  # "move it to Wednesday, same time": the time it has now
    same_day: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    source: str = "offline"
    found_by: dict[str, str] = field(default_factory=dict)  # value name -> the brain that heard it

    def values(self) -> list[str]:
        """The names of the values this utterance gave (not "not said")."""
        return [name for name in _VALUE_FIELDS if getattr(self, name) not in (None, False, ())]

    def credited(self, brain: str) -> SlotUpdate:
        """This update with every value it holds credited to one brain."""
        return replace(self, source=brain, found_by=dict.fromkeys(self.values(), brain))

    def merged_with(self, fallback: SlotUpdate) -> SlotUpdate:
        """Fill what this update left out from another one (ours wins where both speak)."""
        filled = {
            name: getattr(fallback, name)
            for name in _VALUE_FIELDS
            if getattr(self, name) in (None, False, ()) and getattr(fallback, name) not in (None, False, ())
        }
        found_by = {
            **{name: fallback.found_by.get(name, fallback.source) for name in filled},
            **self.found_by,
        }
        return replace(self, **filled, found_by=found_by)

    def is_empty(self) -> bool:
        return not self.values()


_VALUE_FIELDS = tuple(name for name in SlotUpdate.__dataclass_fields__ if name not in ("source", "found_by"))


class Brain(ABC):
    """Both brains (offline rules + embeddings, or an LLM) sit behind this one interface."""

    name: str = "brain"

    @abstractmethod
    async def route(self, text: str, state: ConversationState) -> Routing:
        """Classify what the caller wants, knowing what the agent just asked."""

    @abstractmethod
    async def extract(self, text: str, state: ConversationState) -> SlotUpdate:
        """Pull booking values out of the utterance."""

    async def details_heard(self, text: str, state: ConversationState) -> SlotUpdate:
        """Booking values in the words, for telling a fragment ("Friday at 2") from small talk."""
        return await self.extract(text, state)

    @abstractmethod
    async def split_requests(self, text: str) -> list[Clause]:
        """The separate requests of an utterance that asks for several things; [] when it asks for one."""

    async def answer_question(self, text: str, state: ConversationState) -> str | None:
        """A spoken answer, from the dealership's own data, to a question the FAQ does not hold; None when
        this brain has none (the offline brain never has one: the FAQ node then says it is not sure)."""
        return None

    async def aclose(self) -> None:
        return None
