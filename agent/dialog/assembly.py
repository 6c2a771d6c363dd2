"""Assemble the dialog for one process: knowledge from the database, the chosen brain, tools and graph."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.config import DialogSettings
from agent.dialog.brain import Brain
from agent.dialog.conversation import Conversations, EventSink
from agent.dialog.graph import build_graph
from agent.dialog.nlu.embeddings import load_sentence_encoder
from agent.dialog.nlu.faq_index import FaqIndex
from agent.dialog.nlu.intents import IntentClassifier
from agent.dialog.offline_brain import OfflineBrain
from agent.dialog.tools.dealership import DealershipKnowledge, DealershipTools, HumanRequester
from agent.store.catalog import Catalog
from agent.store.customers import Customers
from agent.store.db import Database
from agent.store.scheduling import Scheduling
from agent.store.state_store import StateStore


@dataclass
class Dialog:
    brain: Brain
    tools: DealershipTools
    conversations: Conversations
    graph: Any
    stt_hint: str = ""

    async def aclose(self) -> None:
        await self.brain.aclose()


async def load_knowledge(catalog: Catalog) -> DealershipKnowledge:
    return DealershipKnowledge(
        services=tuple(await catalog.list_services()),
        inventory=tuple(await catalog.list_inventory()),
        faq=tuple(await catalog.list_faq()),
    )


async def assemble_dialog(
    settings: DialogSettings,
    *,
    timezone: str,
    db: Database,
    store: StateStore,
    scheduling: Scheduling,
    humans: HumanRequester,
    events: EventSink,
    clock: Callable[[], datetime] | None = None,
) -> Dialog:
    """Everything the graph needs, built once; model loading runs in a worker thread."""
    tz = ZoneInfo(timezone)
    catalog = Catalog(db)
    knowledge = await load_knowledge(catalog)
    encoder = await asyncio.to_thread(load_sentence_encoder)
    faq_index, classifier = await asyncio.gather(
        asyncio.to_thread(FaqIndex, encoder, knowledge.faq),
        asyncio.to_thread(IntentClassifier, encoder),
    )
    tools = DealershipTools(
        catalog=catalog,
        customers=Customers(db),
        scheduling=scheduling,
        faq_index=faq_index,
        knowledge=knowledge,
        state_store=store,
        humans=humans,
        tz=tz,
        clock=clock or (lambda: datetime.now(tz)),
    )
    offline = OfflineBrain(classifier, tools)
    brain: Brain = offline
    dealership = await catalog.dealership()
    if settings.brain == "llm":
        from agent.dialog.llm_brain import LlmBrain  # only when asked: it loads the vendor SDK

        llm_brain = LlmBrain.from_settings(settings, fallback=offline, tools=tools, info=dealership)
        llm_brain.start_warm_up()
        brain = llm_brain
    graph = build_graph(brain, tools, dealership.name)
    conversations = Conversations(graph, store, tools, events, dealership.name)
    return Dialog(
        brain=brain,
        tools=tools,
        conversations=conversations,
        graph=graph,
        stt_hint=knowledge.vocabulary_hint(dealership.name),
    )
