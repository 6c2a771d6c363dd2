"""HumanHandoff: while a human is being found, hold music on a long wait; then the transfer, or why it failed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agent.audio.hold_music import hold_music_loop
from agent.calls.io import CallIO
from agent.calls.speech_out import SpeechHandle
from agent.dialog.conversation import Conversations
from agent.dialog.state import ConversationState
from agent.log import get_logger

log = get_logger(__name__)
MUSIC_AHEAD_S = 1.0  # keep at most this much music queued, so it stops the moment the caller speaks


@dataclass(frozen=True)
class HandoffConfig:
    transfer_targets: Mapping[str, str]  # human name -> where to transfer (only configured targets, ever)
    hold_music_after_s: float | None = None  # while a human is being found and all is quiet this long


class HumanHandoff:
    """Owns the hold music and the one transfer attempt of a call."""

    def __init__(
        self,
        io: CallIO,
        conversations: Conversations,
        session_id: str,
        config: HandoffConfig,
        speak: Callable[[str], SpeechHandle],
    ) -> None:
        self._io = io
        self._conversations = conversations
        self._session_id = session_id
        self._config = config
        self._speak = speak
        self._music: asyncio.Task[None] | None = None
        self._tried = False
        self.transferred_to: str | None = None
        self.failed = False

    @property
    def music_playing(self) -> bool:
        return self._music is not None

    def maybe_start_music(self, quiet_for_s: float) -> None:
        """Start the music once the wait for a human has been quiet long enough."""
        after = self._config.hold_music_after_s
        if after is None or self._music is not None or quiet_for_s < after:
            return
        self._music = asyncio.create_task(self._play_music(), name="hold-music")

    def drop_music(self) -> None:
        """The agent is about to speak: the music task stops and what it queued goes."""
        if self._music is not None:
            self._music.cancel()
            self._music = None
            self._io.clear()

    async def stop_music(self) -> None:
        """The caller spoke: stop the music and wait for its task to end."""
        music, self._music = self._music, None
        if music is not None:
            music.cancel()
            await asyncio.gather(music, return_exceptions=True)
            self._io.clear()

    async def _play_music(self) -> None:
        rate = self._io.output_rate
        loop = hold_music_loop(rate)
        chunk = rate // 2
        position = 0
        log.info("hold_music_started")
        while True:
            if self._io.queued_samples < rate * MUSIC_AHEAD_S:
                piece = loop[position : position + chunk]
                position = (position + chunk) % loop.size
                await self._io.play(piece)
            await asyncio.sleep(0.1)

    async def maybe_transfer(self, state: ConversationState, handle: SpeechHandle) -> bool:
        """A human is free: once the caller has heard so, hand the call over. True when the call left us."""
        if self._tried or state.human_agent_status != "available":
            return False
        target = self._config.transfer_targets.get(state.human_agent_name or "")
        if target is None:
            return False
        self._tried = True
        await handle.wait()
        ok = await self._io.transfer(target)
        text = await self._conversations.transfer_finished(self._session_id, ok=ok, target=target)
        if ok:
            self.transferred_to = target
            return True
        self.failed = True
        self._speak(text)
        return False

    async def aclose(self) -> None:
        await self.stop_music()
