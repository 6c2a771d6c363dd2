"""The LLM brain's system prompt and UNDERSTAND schema exactly as an agent on the seed data builds them."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agent.config import StoreSettings
from agent.dialog.assembly import load_knowledge
from agent.dialog.llm_prompt import system_prompt, understand_schema
from agent.store.backends import open_database_at
from agent.store.catalog import Catalog


async def seeded_prompts(seed_path: Path | None = None) -> tuple[str, dict[str, Any]]:
    """Seed a scratch SQLite file and read it back the way the agent does: the same facts, word for word,
    so a benchmark or test shares the prompt prefix a running agent keeps evaluated on the LLM server."""
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database_at(Path(tmp) / "facts.db", seed_path or StoreSettings().seed_path)
        try:
            catalog = Catalog(db)
            knowledge, info = await load_knowledge(catalog), await catalog.dealership()
        finally:
            await db.aclose()
    return system_prompt(info, knowledge), understand_schema(knowledge)
