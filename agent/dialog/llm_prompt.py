"""The LLM brain's prompts: one fixed system prompt (instructions + the dealership's facts) and two tasks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

from agent.dialog.llm_parsing import INTENTS
from agent.dialog.tools.dealership import DealershipKnowledge
from agent.store.models import DealershipInfo, InventoryVehicle

UNDERSTAND: Final = "UNDERSTAND"
ANSWER: Final = "ANSWER"
TURN_CHARS: Final = 240
NOT_KNOWN: Final = "NOT_IN_FACTS"  # the whole reply when the facts do not answer the question

# Both tasks share this text, word for word, ahead of everything that changes: llama.cpp keeps the
# evaluated prefix between requests, so after one warm-up (about a minute on 2 cores) a request only
# pays for its own few dozen tokens. The facts go last so that a change to the data moves nothing else.
INSTRUCTIONS: Final = f"""\
You are the language step of {{name}}'s phone assistant. The user message starts with a task name.

{UNDERSTAND}: read the caller's latest utterance and write JSON. "intent" is one of: {", ".join(INTENTS)}.
book_service wants a service or repair visit; book_test_drive wants to drive a car; faq asks about the \
dealership; inventory asks about cars for sale; provide_info answers the agent's question; affirm/deny \
answer a yes/no question; escalation wants a person or is upset. Then add a key only for a detail the \
caller said in the latest utterance: "service" (the menu name of the work they need), "when" (their \
words for the day and time), "name" (their name). Most utterances have no details: then write the intent \
alone, like {{{{"intent": "faq"}}}}.

{ANSWER}: answer the caller's question from the facts below. First copy into "fact" the first eight words of \
the one fact line that answers it, then write "reply": one or two short spoken sentences saying only what that line \
says. No lists, no markdown. Never guess: if no fact line answers the question, both are {NOT_KNOWN}.

FACTS about {{name}}:
"""


def _inventory_lines(inventory: Sequence[InventoryVehicle]) -> list[str]:
    """One line per make and model (counts, years, prices, colours): short, and it scales with the lot."""
    grouped: dict[tuple[str, str], list[InventoryVehicle]] = defaultdict(list)
    for vehicle in inventory:
        if vehicle.is_available:
            grouped[(vehicle.make, vehicle.model)].append(vehicle)
    lines = []
    for (make, model), cars in sorted(grouped.items()):
        new = sum(car.is_new for car in cars)
        years = sorted({car.year for car in cars})
        low, high = min(car.price for car in cars), max(car.price for car in cars)
        prices = f"${low:,.0f}" if low == high else f"${low:,.0f} to ${high:,.0f}"
        colors = ", ".join(sorted({car.color.lower() for car in cars}))
        span = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
        lines.append(
            f"- {make} {model}: {len(cars)} on the lot ({new} new, {len(cars) - new} used), {span}, "
            f"{prices}, colors: {colors}"
        )
    return lines


def system_prompt(info: DealershipInfo, knowledge: DealershipKnowledge) -> str:
    """The fixed prefix of every request: the instructions, then the dealership's own data."""
    lines = [INSTRUCTIONS.format(name=info.name or "the dealership")]
    lines.append(f"Address: {info.address}. Phone: {info.phone}. Website: {info.website}.")
    lines.append("Services (menu name: price, duration):")
    for service in knowledge.services:
        price = (
            f"${service.price_min:,.0f}"
            if service.price_min == service.price_max
            else f"${service.price_min:,.0f} to ${service.price_max:,.0f}"
        )
        lines.append(f"- {service.name}: {price}, about {service.duration_min} minutes")
    lines.append("Cars for sale:")
    lines.extend(_inventory_lines(knowledge.inventory))
    lines.append("Questions and answers:")
    for entry in knowledge.faq:
        lines.append(f"- {entry.question} {' '.join(entry.answer.split())}")
    return "\n".join(lines)


def _clip(text: str) -> str:
    return " ".join(text.split())[:TURN_CHARS]


def understand_message(utterance: str, agent_said: str, context: str) -> str:
    """The variable part of an UNDERSTAND request: where the call stands, the agent's question, the words."""
    lines = [UNDERSTAND, f"State: {context.strip() or 'new call'}"]
    if agent_said:
        lines.append(f"Agent: {_clip(agent_said)}")
    lines.append(f"Caller: {_clip(utterance)}")
    return "\n".join(lines)


def answer_message(question: str) -> str:
    return f"{ANSWER}\nCaller: {_clip(question)}"


_TEXT: Final[dict[str, Any]] = {"type": "string", "maxLength": 60}


def understand_schema(knowledge: DealershipKnowledge) -> dict[str, Any]:
    """Only "intent" is required: a model under this grammar writes two or three keys, not six nulls.
    "service" is one of the menu's names (the grammar allows nothing else); "when" and "name" must be the
    caller's own words, which the brain checks."""
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": list(INTENTS)},
            "service": {"type": "string", "enum": [service.name for service in knowledge.services]},
            "when": _TEXT,
            "name": _TEXT,
        },
        "required": ["intent"],
    }


ANSWER_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "fact": {"type": "string", "maxLength": 160},
        "reply": {"type": "string", "maxLength": 240},
    },
    "required": ["fact", "reply"],
}
