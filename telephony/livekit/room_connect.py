"""Join a LiveKit room as the agent (rtc.Room): subscribe to the SIP caller, publish our voice, wire events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from livekit import api, rtc

from agent.config import LiveKitSettings
from agent.log import get_logger
from telephony.livekit.room_call import CallControl, LiveKitRoomCall, caller_number
from telephony.livekit.sip_admin import transfer_caller

log = get_logger(__name__)

AUDIO_RATE = 16000  # what we ask LiveKit to resample the caller to, and what we publish
AGENT_QUEUE_MS = 200  # agent audio the source may hold ahead of playout (clear() drops it)
AGENT_TRACK_NAME = "agent-voice"


class CallerLeft(Exception):
    """The caller hung up (left the room) before the agent had their audio: a missed call."""


@dataclass(frozen=True)
class RoomAccess:
    """Where the LiveKit server is and the key the agent signs its tokens and API calls with."""

    url: str
    api_key: str
    api_secret: str
    agent_identity: str = "agent"
    token_ttl_s: int = 600
    join_timeout_s: float = 10.0
    transfer_allow_list: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: LiveKitSettings, transfer_allow_list: tuple[str, ...]) -> RoomAccess:
        return cls(
            url=settings.livekit_url,
            api_key=settings.livekit_api_key,
            api_secret=settings.livekit_api_secret.get_secret_value(),
            agent_identity=settings.livekit_agent_identity,
            token_ttl_s=settings.voice_token_ttl_s,
            join_timeout_s=settings.livekit_join_timeout_s,
            transfer_allow_list=transfer_allow_list,
        )

    def identity_in(self, room: str) -> str:
        return f"{self.agent_identity}-{room}"


def agent_token(access: RoomAccess, room: str) -> str:
    """Least grants: join this one room, publish one microphone track, subscribe; no data, no admin."""
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=False,
        can_publish_sources=["microphone"],
        can_update_own_metadata=False,
    )
    return (
        api.AccessToken(access.api_key, access.api_secret)
        .with_identity(access.identity_in(room))
        .with_name("Dealership agent")
        .with_kind("agent")
        .with_grants(grants)
        .with_ttl(timedelta(seconds=access.token_ttl_s))
        .to_jwt()
    )


class ServerCallControl(CallControl):
    """Hang-up and transfer through the server API (they need admin grants the agent's token lacks)."""

    def __init__(self, client: api.LiveKitAPI, room: rtc.Room, room_name: str, caller_identity: str) -> None:
        self._client = client
        self._room = room
        self._room_name = room_name
        self._caller = caller_identity

    async def remove_caller(self) -> None:
        await self._client.room.remove_participant(
            api.RoomParticipantIdentity(room=self._room_name, identity=self._caller)
        )

    async def transfer_caller(self, target: str) -> bool:
        return await transfer_caller(self._client, room=self._room_name, identity=self._caller, target=target)

    async def leave(self) -> None:
        await self._room.disconnect()


async def connect_room_call(
    access: RoomAccess, client: api.LiveKitAPI, *, room_name: str, caller_identity: str
) -> LiveKitRoomCall:
    """Join `room_name`, wait for the caller's audio track, publish ours, and return the call."""
    room = rtc.Room()
    caller_track: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def on_track(track: rtc.Track, _pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant) -> None:
        is_caller_audio = who.identity == caller_identity and track.kind == rtc.TrackKind.KIND_AUDIO
        if is_caller_audio and not caller_track.done():
            caller_track.set_result(track)

    def on_gone(who: rtc.RemoteParticipant) -> None:
        if who.identity == caller_identity and not caller_track.done():
            caller_track.set_exception(CallerLeft(caller_identity))

    room.on("track_subscribed", on_track)
    room.on("participant_disconnected", on_gone)
    try:
        await room.connect(access.url, agent_token(access, room_name), rtc.RoomOptions(auto_subscribe=True))
        caller = room.remote_participants.get(caller_identity)
        for publication in caller.track_publications.values() if caller else ():
            if publication.track is not None and publication.kind == rtc.TrackKind.KIND_AUDIO:
                on_track(publication.track, publication, caller)  # type: ignore[arg-type]
        track = await asyncio.wait_for(caller_track, access.join_timeout_s)
        room.off("participant_disconnected", on_gone)
        caller = room.remote_participants.get(caller_identity)
        stream = rtc.AudioStream.from_track(
            track=track, sample_rate=AUDIO_RATE, num_channels=1, frame_size_ms=20
        )
        source = rtc.AudioSource(AUDIO_RATE, 1, queue_size_ms=AGENT_QUEUE_MS)
        voice = rtc.LocalAudioTrack.create_audio_track(AGENT_TRACK_NAME, source)
        await room.local_participant.publish_track(
            voice, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
    except BaseException:
        await room.disconnect()
        raise

    call = LiveKitRoomCall(
        call_id=room_name,
        caller_audio=stream,
        agent_audio=source,
        control=ServerCallControl(client, room, room_name, caller_identity),
        caller_id=caller_number(caller.attributes) if caller else None,
        input_rate=AUDIO_RATE,
        transfer_allow_list=access.transfer_allow_list,
    )

    def on_dtmf(dtmf: rtc.SipDTMF) -> None:
        if dtmf.participant is not None and dtmf.participant.identity == caller_identity:
            call.on_dtmf(dtmf.digit)

    def on_left(who: rtc.RemoteParticipant) -> None:
        if who.identity == caller_identity:
            call.caller_left()

    room.on("sip_dtmf_received", on_dtmf)
    room.on("participant_disconnected", on_left)
    room.on("disconnected", lambda _reason: call.caller_left())
    log.info("livekit_call_joined", call_id=room_name, caller=caller_identity, caller_id=call.caller_id)
    return call
