"""Typed keys for what the aiohttp application holds (web.AppKey)."""

from __future__ import annotations

from aiohttp import web

from agent.config import Settings
from agent.dialog.brain import Brain
from agent.dialog.conversation import Conversations
from agent.server.events import EventHub
from agent.server.ratelimit import RateLimiter
from agent.store.db import Database
from agent.store.state_store import StateStore
from agent.tasks.escalation import HumanAvailability

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
STATE_STORE = web.AppKey("state_store", StateStore)
EVENTS = web.AppKey("events", EventHub)
HUMANS = web.AppKey("humans", HumanAvailability)
BRAIN = web.AppKey("brain", Brain)
CONVERSATIONS = web.AppKey("conversations", Conversations)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
