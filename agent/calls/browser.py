"""Browser calls: what the HTTP layer may ask of the WebRTC endpoint and of the LiveKit dispatcher, and why they refuse.

The server layer talks to these protocols only; telephony/webrtc.py and telephony/livekit/dispatch.py implement
them and app.py wires the real ones in, so no route imports aiortc or the LiveKit SDK.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from agent.calls.io import CallIO

# Runs one browser call joined to an existing session; returns when the call is over.
BrowserCallHandler = Callable[[CallIO, str], Awaitable[object]]


class BrowserCallRefused(Exception):
    """A browser call that cannot start; `code` names the reason for the JSON error."""

    code = "call_refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadOffer(BrowserCallRefused):
    """The SDP offer cannot be parsed or carries no audio."""

    code = "bad_offer"


class TooManyBrowserCalls(BrowserCallRefused):
    """The cap on concurrent browser calls is reached."""

    code = "too_many_calls"


class TooManyLinesHeld(BrowserCallRefused):
    """This client already holds its lines (AGENT_MAX_BROWSER_CALLS_PER_CLIENT)."""

    code = "too_many_calls_from_client"


class SessionOnCall(TooManyLinesHeld):
    """This session already has its call (AGENT_MAX_BROWSER_CALLS_PER_SESSION)."""

    code = "session_on_call"


class BrowserCallsClosed(BrowserCallRefused):
    """The endpoint is shutting down."""

    code = "voice_unavailable"


@dataclass(frozen=True)
class AnsweredOffer:
    sdp: str  # the SDP answer, ICE candidates included (no trickle)
    call_id: str


class BrowserCalls(Protocol):
    """The embedded WebRTC endpoint as the routes see it."""

    async def answer(self, offer_sdp: str, session_id: str, *, client: str = "") -> AnsweredOffer:
        """Answer a browser's offer and start its call; raises a BrowserCallRefused subclass. `client` is the
        key of whoever posted it (their address), for the per-client line cap."""
        ...

    async def end_call(self, call_id: str) -> bool:
        """Hang up one browser call; False when no such call is running."""
        ...

    @property
    def active_calls(self) -> int:
        """Lines in use now: calls running, and answered offers whose browser is still connecting."""
        ...

    @property
    def max_calls(self) -> int:
        """The cap: the offer past it is refused (too_many_calls)."""
        ...

    @property
    def answered(self) -> int:
        """Calls whose browser connected, since the server started."""
        ...

    @property
    def refused(self) -> int:
        """Offers refused because every line was busy, since the server started."""
        ...


class BrowserRooms(Protocol):
    """LiveKit mode: the agent joins the room a session's caller token names (one agent per room)."""

    def join_browser_room(self, room: str, caller_identity: str, session_id: str) -> bool:
        """Start the agent for that room (waiting for `caller_identity`'s audio) unless one already runs
        there; True when one was started."""
        ...
