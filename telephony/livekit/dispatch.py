"""Which rooms the agent joins: a SIP caller joined a prefixed room (verified webhook) -> join, run the call."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from livekit import api

from agent.calls.browser import BrowserCallHandler
from agent.calls.io import CallHandler, UnansweredCall, UnansweredCallHandler, UnansweredEndedBy
from agent.log import get_logger
from telephony.livekit.room_call import LiveKitRoomCall, caller_number
from telephony.livekit.room_claims import LocalRoomClaims, RoomClaims
from telephony.livekit.room_connect import CallerLeft, RoomAccess, connect_room_call

log = get_logger(__name__)


class Caller(NamedTuple):
    identity: str  # the participant in the room
    number: str | None  # the caller id, when LiveKit has one


class RoomJoiner(ABC):
    """Turns "caller X is in room R" into a live call; the real one joins the LiveKit room."""

    @abstractmethod
    async def join(self, room: str, caller_identity: str) -> LiveKitRoomCall: ...

    @abstractmethod
    async def aclose(self) -> None:
        """Release whatever the joiner holds (API clients)."""


class LiveKitRoomJoiner(RoomJoiner):
    """Joins rooms on the configured LiveKit server; one API client shared by every call."""

    def __init__(self, access: RoomAccess) -> None:
        self._access = access
        self._client: api.LiveKitAPI | None = None

    async def join(self, room: str, caller_identity: str) -> LiveKitRoomCall:
        if self._client is None:
            self._client = api.LiveKitAPI(self._access.url, self._access.api_key, self._access.api_secret)
        return await connect_room_call(
            self._access, self._client, room_name=room, caller_identity=caller_identity
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def is_sip_caller(event: api.WebhookEvent, room_prefix: str) -> bool:
    """A SIP participant (not us, not a browser) joined a room that our dispatch rule names."""
    return (
        event.event == "participant_joined"
        and event.participant.kind == api.ParticipantInfo.Kind.SIP
        and bool(event.participant.identity)
        and event.room.name.startswith(room_prefix)
    )


@dataclass(frozen=True)
class DispatchLimits:
    """How many rooms this process runs at once, and what the one over the cap gets."""

    max_calls: int | None = None  # None: no cap
    on_busy: CallHandler | None = None  # joins the room over the cap: says so and leaves (None: not joined)


class LiveKitCallDispatcher:
    """Receives verified LiveKit webhook events; for each new SIP caller joins the room and runs `on_call`.

    One call per room: LiveKit retries a webhook it thinks failed, and a second SIP participant in the same
    room (a transfer leg) is not a new call. Across processes a room is claimed first (`claims`: Redis SET NX
    when processes share Redis), so a webhook retried to another process is handled once. Over the cap the
    room gets `on_busy` instead of a session; a caller gone before the agent could answer goes to
    `on_missed`. Browser callers do not come through webhooks: the token route calls `join_browser_room`.
    """

    def __init__(
        self,
        on_call: CallHandler,
        joiner: RoomJoiner,
        *,
        room_prefix: str,
        on_browser_call: BrowserCallHandler | None = None,
        limits: DispatchLimits = DispatchLimits(),
        claims: RoomClaims | None = None,
        on_missed: UnansweredCallHandler | None = None,
    ) -> None:
        self._on_call = on_call
        self._on_browser_call = on_browser_call
        self._joiner = joiner
        self._room_prefix = room_prefix
        self._limits = limits
        self._claims = claims or LocalRoomClaims(ttl_s=30)
        self._on_missed = on_missed
        self._calls: dict[str, asyncio.Task[None]] = {}
        self._busy: set[str] = set()  # rooms being told that every line is busy
        self.answered = 0
        self.refused = 0

    @property
    def active_rooms(self) -> list[str]:
        return sorted(self._calls)

    @property
    def active_calls(self) -> int:
        """Rooms with a call session (joining or running); not the ones being told that we are busy."""
        return len(self._calls) - len(self._busy)

    @property
    def max_calls(self) -> int | None:
        return self._limits.max_calls

    def on_webhook(self, event: api.WebhookEvent) -> None:
        if not is_sip_caller(event, self._room_prefix):
            return
        room = event.room.name
        if room in self._calls:
            log.info("livekit_call_already_running", call_id=room)
            return
        caller = Caller(event.participant.identity, caller_number(event.participant.attributes))
        self._start(room, caller, None)

    def join_browser_room(self, room: str, caller_identity: str, session_id: str) -> bool:
        """A session's browser caller got a token for `room`: join it and run the call on that session.
        One agent per room: a second token for the same session starts nothing."""
        if self._on_browser_call is None or room in self._calls:
            log.info("livekit_browser_call_not_started", call_id=room, running=room in self._calls)
            return False
        self._start(room, Caller(caller_identity, None), session_id)
        return True

    def _start(self, room: str, caller: Caller, session_id: str | None) -> None:
        cap = self._limits.max_calls
        busy = cap is not None and self.active_calls >= cap
        if busy:
            self._busy.add(room)
        task = asyncio.get_running_loop().create_task(self._run(room, caller, session_id, busy))
        self._calls[room] = task
        task.add_done_callback(lambda _t: self._forget(room))

    def _forget(self, room: str) -> None:
        self._calls.pop(room, None)
        self._busy.discard(room)

    async def _run(self, room: str, caller: Caller, session_id: str | None, busy: bool) -> None:
        if not await self._claim(room):
            return
        async with self._claims.held(room):
            call = await self._join(room, caller)
            if call is None:
                return
            try:
                await self._hand_over(call, session_id, busy)
            except Exception as exc:
                log.error("livekit_call_failed", call_id=room, error=repr(exc))
            finally:
                await call.hangup()
            log.info("livekit_call_ended", call_id=room, busy=busy)

    async def _claim(self, room: str) -> bool:
        try:
            if await self._claims.claim(room):
                return True
        except Exception as exc:  # the claim store is down: answer the caller rather than no one
            log.warning("livekit_room_claim_unavailable", call_id=room, error=repr(exc))
            return True
        log.info("livekit_room_claimed_elsewhere", call_id=room)
        return False

    async def _join(self, room: str, caller: Caller) -> LiveKitRoomCall | None:
        """Join the room; a caller gone (or never heard) before that is a missed call."""
        rang_at = datetime.now(UTC)
        ended_by: UnansweredEndedBy
        try:
            return await self._joiner.join(room, caller.identity)
        except CallerLeft:
            ended_by = "caller"
        except TimeoutError:
            ended_by = "timeout"
        except asyncio.CancelledError:
            await self._missed(UnansweredCall(room, caller.number, rang_at, "shutdown", "shutdown"))
            raise
        except Exception as exc:
            log.error("livekit_join_failed", call_id=room, error=repr(exc))
            ended_by = "agent"
        log.info("livekit_call_missed", call_id=room, ended_by=ended_by)
        await self._missed(UnansweredCall(room, caller.number, rang_at, ended_by, "not joined"))
        return None

    async def _missed(self, call: UnansweredCall) -> None:
        if self._on_missed is not None:
            try:
                await self._on_missed(call)
            except Exception as exc:
                log.error("livekit_missed_call_not_recorded", call_id=call.call_id, error=repr(exc))

    async def _hand_over(self, call: LiveKitRoomCall, session_id: str | None, busy: bool) -> None:
        if busy:
            self.refused += 1
            if self._limits.on_busy is not None:
                await self._limits.on_busy(call)
            return
        self.answered += 1
        if session_id is not None and self._on_browser_call is not None:
            await self._on_browser_call(call, session_id)
        else:
            await self._on_call(call)

    async def aclose(self) -> None:
        """Shutdown: end every call in progress (each hangs up its caller), then release the joiner."""
        tasks = list(self._calls.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._joiner.aclose()
        await self._claims.aclose()
