"""The LLM brain cannot bypass what our parsers know: self-corrections, loops, spans of days, moves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import yaml

from agent.dialog.brain import Brain, Clause, Routing, SlotUpdate
from agent.dialog.llm import BookingExtraction, LlmClient, RouteDecision
from agent.dialog.llm_brain import LlmBrain
from agent.dialog.slot_parsing import SlotParser
from agent.dialog.state import BookingSlots, ConversationState
from agent.dialog.tools.dealership import DealershipKnowledge, DealershipTools
from agent.store.models import InventoryVehicle, ServiceType

pytestmark = pytest.mark.unit

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"


class ScriptedModel:
    """Stands in for LlmClient: answers every extraction with the fields it was given."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields
        self.calls = 0

    async def route(self, utterance: str, history: Sequence[tuple[str, str]], context: str) -> RouteDecision:
        return RouteDecision(intent="provide_info", confidence=0.9)

    async def extract_booking(
        self, utterance: str, history: Sequence[tuple[str, str]], context: str
    ) -> BookingExtraction:
        self.calls += 1
        return BookingExtraction.model_validate(self.fields)

    async def aclose(self) -> None:
        return None


class ParsersOnly(Brain):
    """The offline brain's slot parsing without its classifier."""

    def __init__(self, parser: SlotParser) -> None:
        self.parser = parser

    async def route(self, text: str, state: ConversationState) -> Routing:
        return Routing("unknown", 0.0)

    async def extract(self, text: str, state: ConversationState) -> SlotUpdate:
        return self.parser.parse(text, state, NOW)

    async def split_requests(self, text: str) -> list[Clause]:
        return []


@dataclass
class Tools:
    knowledge: DealershipKnowledge

    def now(self) -> datetime:
        return NOW


def _brain(**fields: Any) -> tuple[LlmBrain, ScriptedModel]:
    rows = yaml.safe_load(SEED.read_text())["service_types"]
    services = tuple(
        ServiceType(
            i, r["name"], r["duration_min"], r["price_min"], r["price_max"], aliases=tuple(r["aliases"])
        )
        for i, r in enumerate(rows, start=1)
    )
    fit = InventoryVehicle(
        1, "U18001", "Honda", "Fit", 2018, "LX", "Blue", 13450, 60000, False, True, "hatchback"
    )
    knowledge = DealershipKnowledge(services=services, inventory=(fit,), faq=())
    model = ScriptedModel(**fields)
    brain = LlmBrain(
        cast(LlmClient, model), ParsersOnly(SlotParser(knowledge)), cast(DealershipTools, Tools(knowledge))
    )
    return brain, model


def _state(awaiting: str) -> ConversationState:
    return ConversationState(session_id="s", booking_slots=BookingSlots(action="book", awaiting=awaiting))


async def test_the_callers_correction_beats_the_models_copy_of_the_first_day() -> None:
    brain, _ = _brain(date_text="Tuesday")
    update = await brain.extract("Tuesday, no, Wednesday", _state("day"))
    assert update.day == date(2026, 12, 2) and update.source == "llm"


async def test_a_span_of_days_is_not_turned_into_one_day() -> None:
    brain, _ = _brain(date_text="next week")
    update = await brain.extract("sometime next week", _state("day"))
    assert update.day is None and update.day_range == (date(2026, 11, 30), date(2026, 12, 5))


async def test_a_looping_number_is_not_taken_from_the_model() -> None:
    brain, _ = _brain(phone="500-500-5005")
    update = await brain.extract("500, 500, 500, 500, 500, 5", _state("phone"))
    assert update.phone is None


async def test_moves_outside_the_models_schema_come_from_our_parsers() -> None:
    brain, _ = _brain()
    assert (await brain.extract("I don't know my number", _state("phone"))).number_unknown
    assert (await brain.extract("what do you have?", _state("time"))).suggestions == "any"


async def test_one_model_call_per_utterance_even_when_asked_twice() -> None:
    brain, model = _brain(date_text="Friday at 2")
    state = _state("day")
    first = await brain.extract("Friday at 2", state)
    assert await brain.extract("Friday at 2", state) == first
    assert model.calls == 1


async def test_a_car_the_model_copies_from_the_listing_is_not_taken() -> None:
    brain, _ = _brain(vehicle="Honda Fit", confirm="yes")
    update = await brain.extract("yes please", _state("vehicle"))
    assert update.vehicle is None and update.vehicle_words is None
    named = await brain.extract("the Fit please", _state("vehicle"))
    assert named.vehicle is not None and named.vehicle.model == "Fit"


async def test_telling_a_fragment_from_small_talk_costs_no_model_call() -> None:
    brain, model = _brain(date_text="Friday at 2")
    heard = await brain.details_heard("Friday at 2", _state("day"))
    assert heard.day == date(2026, 11, 27) and model.calls == 0
