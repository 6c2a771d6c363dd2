"""Time of one LLM request under each means tried for the LLM brain, against a running llama.cpp server.

Usage: python -m benchmarks.llm_means [--llm-url URL] [--label TEXT]
Prints p50/max per request for: UNDERSTAND with the shared prefix already evaluated (what the brain sends);
the same with the prefix changed (no prefix cache: one request, it takes a minute); the same output with
every key required (the old tool-call style: a null for each unsaid detail); ANSWER (fact line + reply).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from agent.dialog.llm import LlmClient
from agent.dialog.llm_prompt import system_prompt, understand_schema
from agent.dialog.tools.dealership import DealershipKnowledge
from agent.log import configure_logging
from agent.store.models import DealershipInfo, FaqEntry, InventoryVehicle, ServiceType

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "dealership.yaml"
UTTERANCES = [
    "Hi, I'd like to book an oil change for my car.",
    "What are your hours on Saturday?",
    "Can I talk to a real person please?",
    "Do you have any used Hondas on the lot?",
    "I need to cancel my appointment.",
    "the air blowing out the vents is warm even on max cold",
    "my name's Dana Whitfield and Thursday around lunch works",
    "I want to test drive a RAV4.",
]
QUESTIONS = [
    "What's the cheapest car you have?",
    "Do you have a waiting room with wifi?",
    "Can I pay with Apple Pay?",
    "How much would you charge to paint my car purple?",
]


def knowledge_and_info() -> tuple[DealershipKnowledge, DealershipInfo]:
    seed = yaml.safe_load(SEED.read_text())
    knowledge = DealershipKnowledge(
        services=tuple(
            ServiceType(i, r["name"], r["duration_min"], r["price_min"], r["price_max"])
            for i, r in enumerate(seed["service_types"], start=1)
        ),
        inventory=tuple(
            InventoryVehicle(
                i,
                v["stock_number"],
                v["make"],
                v["model"],
                v["year"],
                v.get("trim", ""),
                v["color"],
                v["price"],
                v["mileage"],
                v["is_new"],
                True,
            )
            for i, v in enumerate(seed["inventory"], start=1)
        ),
        faq=tuple(
            FaqEntry(i, f["category"], f["question"], f["answer"]) for i, f in enumerate(seed["faq"], 1)
        ),
    )
    info = DealershipInfo(
        **{k: seed["dealership"][k] for k in ("name", "address", "phone", "email", "website")}
    )
    return knowledge, info


async def timed(label: str, calls: list[Any]) -> None:
    seconds = []
    for call in calls:
        started = time.perf_counter()
        await call
        seconds.append(time.perf_counter() - started)
    print(
        f"  {label}: p50 {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s ({len(seconds)} requests)"
    )


async def bench(url: str, label: str) -> None:
    knowledge, info = knowledge_and_info()
    prompt, schema = system_prompt(info, knowledge), understand_schema(knowledge)
    all_keys = {**schema, "required": list(schema["properties"])}

    def client(system: str, understand: dict[str, Any]) -> LlmClient:
        return LlmClient(
            base_url=url,
            model="local",
            api_key="x",
            timeout_s=300,
            system_prompt=system,
            understand_schema=understand,
        )

    brain, required, cold = (
        client(prompt, schema),
        client(prompt, all_keys),
        client("Cold. " + prompt, schema),
    )
    print(f"{label}: system prompt {len(prompt)} characters")
    await brain.warm_up()
    await timed(
        "UNDERSTAND, prefix kept (what the brain sends)",
        [brain.understand(u, "", "new call") for u in UTTERANCES],
    )
    await timed(
        "UNDERSTAND, every key required", [required.understand(u, "", "new call") for u in UTTERANCES]
    )
    await timed("ANSWER (fact line + reply)", [brain.answer(q) for q in QUESTIONS])
    await timed(
        "UNDERSTAND, prefix not kept (evaluated again)", [cold.understand(UTTERANCES[0], "", "new call")]
    )
    await brain.warm_up()  # leave the server with the brain's prefix
    for llm in (brain, required, cold):
        await llm.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--llm-url", default="http://127.0.0.1:8765/v1")
    parser.add_argument("--label", default="llm")
    args = parser.parse_args()
    configure_logging("error")
    asyncio.run(bench(args.llm_url, args.label))


if __name__ == "__main__":
    main()
