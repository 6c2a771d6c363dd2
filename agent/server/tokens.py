"""LiveKit access tokens for a session's room: one room, least grants, short lifetime (livekit-api)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from livekit import api


@dataclass(frozen=True)
class VoiceToken:
    token: str
    room: str
    identity: str
    url: str
    ttl_s: int


def room_for_session(session_id: str) -> str:
    return f"call-{session_id}"


def issue_caller_token(
    *, session_id: str, api_key: str, api_secret: str, url: str, ttl_s: int, name: str | None = None
) -> VoiceToken:
    """A caller may join only their session's room, publish only a microphone, and subscribe."""
    room = room_for_session(session_id)
    identity = f"caller-{session_id}"
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=False,
        can_publish_sources=["microphone"],
        can_update_own_metadata=False,
    )
    token = (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_name(name or "Caller")
        .with_grants(grants)
        .with_ttl(timedelta(seconds=ttl_s))
        .with_attributes({"session_id": session_id})
        .to_jwt()
    )
    return VoiceToken(token=token, room=room, identity=identity, url=url, ttl_s=ttl_s)
