"""The hybrid LLM brain: our parsers first, the model only where they are unsure, every value credited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import yaml

from agent.dialog.brain import Brain, Clause, Routing, SlotUpdate
from agent.dialog.llm import LlmClient, LlmUnavailable, SpokenAnswer, Understanding
from agent.dialog.llm_brain import LlmBrain
from agent.dialog.slot_parsing import SlotParser
from agent.dialog.state import BookingSlots, ConversationState
from agent.dialog.tools.dealership import DealershipKnowledge, DealershipTools
from agent.store.models import InventoryVehicle, ServiceType

pytestmark = pytest.mark.unit

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"
FACTS = "Oil change: $49 to $89, about 45 minutes. Honda Fit: 1 on the lot, 2018, $13,450. Open 7:30 to 6."


class ScriptedModel:
    """Stands in for LlmClient: every UNDERSTAND gets the fields it was given, every ANSWER its reply."""

    def __init__(self, reply: str | None = None, fact: str = "", fail: bool = False, **fields: Any) -> None:
        self.fields = {"intent": "provide_info", **fields}
        self.reply = reply
        self.fact = fact
        self.fail = fail
        self.calls = 0

    async def understand(self, utterance: str, agent_said: str, context: str) -> Understanding:
        self.calls += 1
        if self.fail:
            raise LlmUnavailable("the LLM at http://127.0.0.1:9/v1 did not answer in 1 s", "timeout")
        return Understanding.model_validate(self.fields)

    async def answer(self, question: str) -> SpokenAnswer:
        self.calls += 1
        return SpokenAnswer.model_validate({"fact": self.fact, "reply": self.reply})

    async def aclose(self) -> None:
        return None


class ParsersOnly(Brain):
    """The offline brain's slot parsing, and a classifier that is sure of nothing but "hi"."""

    def __init__(self, parser: SlotParser) -> None:
        self.parser = parser

    async def route(self, text: str, state: ConversationState) -> Routing:
        return Routing("greeting", 0.95) if text == "hi" else Routing("unknown", 0.2)

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
        cast(LlmClient, model),
        ParsersOnly(SlotParser(knowledge)),
        cast(DealershipTools, Tools(knowledge)),
        FACTS,
    )
    return brain, model


def _state(awaiting: str) -> ConversationState:
    return ConversationState(session_id="s", booking_slots=BookingSlots(action="book", awaiting=awaiting))


async def test_what_our_parsers_read_costs_no_model_call_and_is_credited_to_them() -> None:
    brain, model = _brain(when="Tuesday")
    update = await brain.extract("Friday at 2", _state("day"))
    assert update.day == date(2026, 11, 27) and model.calls == 0
    assert update.source == "offline" and update.found_by["day"] == "offline"


async def test_the_model_fills_what_our_parsers_missed_and_only_that_is_credited_to_it() -> None:
    brain, model = _brain(intent="book_service", service="Coolant flush")
    update = await brain.extract("the temperature needle keeps climbing into the red", _state("service"))
    assert update.service is not None and update.service.name == "Coolant flush"
    assert update.found_by["service"] == "llm" and update.source == "llm" and model.calls == 1


async def test_a_service_the_model_guesses_from_nothing_the_caller_said_is_dropped() -> None:
    brain, _ = _brain(intent="book_service", service="Oil change")
    update = await brain.extract("could be sometime around lunch maybe", _state("day"))
    assert update.service is None and "service" not in update.found_by


async def test_a_span_of_days_is_not_turned_into_one_day() -> None:
    brain, _ = _brain(when="next week")
    update = await brain.extract("sometime next week", _state("day"))
    assert update.day is None and update.day_range == (date(2026, 11, 30), date(2026, 12, 5))


async def test_a_name_the_model_copies_from_the_conversation_is_not_taken() -> None:
    brain, _ = _brain(name="Maria Lopez")
    update = await brain.extract("uh could you say that again slowly", _state("day"))
    assert update.name is None
    asked = await brain.extract("well folks call me Maria Lopez", _state("name"))
    assert asked.name == "Maria Lopez"
    brain, _ = _brain(name="Coolant Flush")  # the 0.5B model, asked for a name, gave the service's
    assert (await brain.extract("uh yeah so the thing is", _state("name"))).name is None


async def test_route_asks_the_model_only_when_the_offline_brain_is_unsure() -> None:
    brain, model = _brain(intent="book_service", service="Wiper blade replacement")
    state = ConversationState(session_id="s")
    assert (await brain.route("hi", state)).source == "offline" and model.calls == 0
    said = "my windshield streaks something awful whenever it rains"
    routing = await brain.route(said, state)
    assert (routing.intent, routing.source, model.calls) == ("book_service", "llm", 1)
    # The booking node asks about the same words: the one answer is reused, not asked for again.
    update = await brain.extract(said, state)
    assert update.service is not None and update.found_by["service"] == "llm" and model.calls == 1


async def test_a_model_that_fails_is_an_offline_fallback_with_its_reason_counted() -> None:
    from agent import metrics

    before = metrics.BRAIN_FALLBACKS.labels("route", "timeout")._value.get()
    brain, _ = _brain(fail=True)
    routing = await brain.route("my car's making a weird grinding racket", ConversationState(session_id="s"))
    assert routing.source == "offline-fallback"
    assert metrics.BRAIN_FALLBACKS.labels("route", "timeout")._value.get() == before + 1


async def test_answers_resting_on_a_fact_line_are_spoken_and_anything_invented_is_never_said() -> None:
    state = ConversationState(session_id="s")
    oil = "Oil change: $49 to $89, about 45 minutes."
    brain, _ = _brain(reply="An **oil change** costs $49 to $89.", fact=oil)
    said = await brain.answer_question("how much for an oil change", state)
    assert said == "An oil change costs 49 dollars to 89 dollars."
    refused = [
        ("how much to paint my car purple", "Painting costs $1,290.", "Painting a car costs $1,290."),
        ("any mustangs", "Honda Fit: 1 on the lot", "Yes, we have a Ford Mustang on the lot."),
        ("how much for an oil change", oil, "An oil change costs $49 and comes with a free car wash."),
        ("how much for an oil change", oil, "An oil change costs $39."),
        ("can I bring my dog", "NOT_IN_FACTS", "NOT_IN_FACTS"),
    ]
    for question, fact, reply in refused:
        brain, _ = _brain(reply=reply, fact=fact)
        assert await brain.answer_question(question, state) is None, reply


async def test_two_calls_interleaving_do_not_make_the_model_answer_twice() -> None:
    brain, model = _brain(intent="book_service", service="Wiper blade replacement")
    said = "my windshield streaks something awful whenever it rains"
    first, second = ConversationState(session_id="a"), ConversationState(session_id="b")
    await brain.route(said, first)
    await brain.route(said, second)  # another call's turn, between the first call's route and extract
    update = await brain.extract(said, first)
    assert update.found_by.get("service") == "llm" and model.calls == 2
