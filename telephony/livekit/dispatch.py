"""Which rooms the agent joins: a SIP caller joined a prefixed room (verified webhook) -> join, run the call."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from livekit import api

from agent.calls.browser import BrowserCallHandler
from agent.calls.io import CallHandler
from agent.log import get_logger
from telephony.livekit.room_call import LiveKitRoomCall
from telephony.livekit.room_connect import RoomAccess, connect_room_call

log = get_logger(__name__)


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


class LiveKitCallDispatcher:
    """Receives verified LiveKit webhook events; for each new SIP caller joins the room and runs `on_call`.

    One call per room: LiveKit retries a webhook it thinks failed, and a second SIP participant in the same
    room (a transfer leg) is not a new call. Browser callers do not come through webhooks: the token route
    calls `join_browser_room` when it hands a session's caller a token for that session's room.
    """

    def __init__(
        self,
        on_call: CallHandler,
        joiner: RoomJoiner,
        *,
        room_prefix: str,
        on_browser_call: BrowserCallHandler | None = None,
    ) -> None:
        self._on_call = on_call
        self._on_browser_call = on_browser_call
        self._joiner = joiner
        self._room_prefix = room_prefix
        self._calls: dict[str, asyncio.Task[None]] = {}

    @property
    def active_rooms(self) -> list[str]:
        return sorted(self._calls)

    def on_webhook(self, event: api.WebhookEvent) -> None:
        if not is_sip_caller(event, self._room_prefix):
            return
        room = event.room.name
        if room in self._calls:
            log.info("livekit_call_already_running", call_id=room)
            return
        self._start(room, event.participant.identity, None)

    def join_browser_room(self, room: str, caller_identity: str, session_id: str) -> bool:
        """A session's browser caller got a token for `room`: join it and run the call on that session.
        One agent per room: a second token for the same session starts nothing."""
        if self._on_browser_call is None or room in self._calls:
            log.info("livekit_browser_call_not_started", call_id=room, running=room in self._calls)
            return False
        self._start(room, caller_identity, session_id)
        return True

    def _start(self, room: str, caller_identity: str, session_id: str | None) -> None:
        task = asyncio.get_running_loop().create_task(self._run(room, caller_identity, session_id))
        self._calls[room] = task
        task.add_done_callback(lambda _t: self._calls.pop(room, None))

    async def _run(self, room: str, caller_identity: str, session_id: str | None) -> None:
        try:
            call = await self._joiner.join(room, caller_identity)
        except Exception as exc:
            log.error("livekit_join_failed", call_id=room, error=repr(exc))
            return
        try:
            if session_id is not None and self._on_browser_call is not None:
                await self._on_browser_call(call, session_id)
            else:
                await self._on_call(call)
        except Exception as exc:
            log.error("livekit_call_failed", call_id=room, error=repr(exc))
        finally:
            await call.hangup()
        log.info("livekit_call_ended", call_id=room)

    async def aclose(self) -> None:
        """Shutdown: end every call in progress (each hangs up its caller), then release the joiner."""
        tasks = list(self._calls.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._joiner.aclose()
