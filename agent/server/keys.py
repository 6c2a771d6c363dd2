"""Typed keys for what the aiohttp application holds (web.AppKey)."""

from __future__ import annotations

from aiohttp import web

from agent.calls.browser import BrowserCalls, BrowserRooms
from agent.calls.runner import CallRunner
from agent.config import Settings
from agent.dialog.brain import Brain
from agent.dialog.conversation import Conversations
from agent.server.events import EventHub
from agent.server.livekit_events import LiveKitCallEvents
from agent.store.calls import CallLog
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
CALL_LOG = web.AppKey("call_log", CallLog)
# Runs a call session for any transport's CallIO; present when voice is enabled (SIP or LiveKit).
CALL_RUNNER = web.AppKey("call_runner", CallRunner)
# The embedded SIP endpoint, when enabled (typed loosely: the server layer does not import telephony).
SIP_ENDPOINT = web.AppKey("sip_endpoint", object)
# The LiveKit dispatcher, when LiveKit calls are enabled: verified webhooks go to it.
LIVEKIT_CALLS: web.AppKey[LiveKitCallEvents] = web.AppKey("livekit_calls")
# The embedded WebRTC endpoint for browser calls, when enabled (AGENT_WEBRTC_ENABLED).
WEBRTC_CALLS: web.AppKey[BrowserCalls] = web.AppKey("webrtc_calls")
# LiveKit mode: the dispatcher that joins a session's room when its caller token is issued.
BROWSER_ROOMS: web.AppKey[BrowserRooms] = web.AppKey("browser_rooms")
