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
from typing import Any

from agent.dialog.llm import LlmClient
from agent.log import configure_logging
from agent.qa.seeded_prompts import seeded_prompts

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
    prompt, schema = await seeded_prompts()
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
