"""Browser calls over WebRTC (aiortc): answers a browser's SDP offer and runs the call as a CallIO."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import aioice.ice
import av
import numpy as np
import numpy.typing as npt
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription
from aiortc.stats import RTCTransportStats

from agent.audio.frames import AudioFrame, Reframer, samples_per_frame
from agent.audio.resample import StreamResampler
from agent.calls.browser import (
    AnsweredOffer,
    BadOffer,
    BrowserCallHandler,
    BrowserCallsClosed,
    SessionOnCall,
    TooManyBrowserCalls,
    TooManyLinesHeld,
)
from agent.calls.io import CallIO, DtmfDigit
from agent.calls.playout import Playout
from agent.log import get_logger
from telephony.webrtc_track import OUT_RATE, AgentVoiceTrack

log = get_logger(__name__)
Int16Array = npt.NDArray[np.int16]

IN_RATE = 16000  # caller audio is downmixed and resampled to what the VAD and Whisper take
IN_FRAME = samples_per_frame(IN_RATE)
SILENCE_FILL_AFTER_S = 0.2  # caller audio this late: the browser stopped sending (DTX); keep the clock going
JITTER_SLACK_FRAMES = 2


# Frame conversion (pure) -------------------------------------------------------------------------------
def mono_samples(frame: av.AudioFrame) -> Int16Array:
    """A decoded frame's audio as mono int16: channels averaged, packed or planar, s16 or float."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        per_channel = data.reshape(channels, -1).astype(np.float64)
    else:
        per_channel = data.reshape(-1, channels).T.astype(np.float64)
    mixed = per_channel.mean(axis=0)
    if frame.format.name.startswith(("flt", "dbl")):
        mixed = mixed * 32768.0
    elif not frame.format.name.startswith("s16"):
        raise ValueError(f"unsupported audio sample format {frame.format.name}")
    clipped: Int16Array = np.clip(np.rint(mixed), -32768, 32767).astype(np.int16)
    return clipped


class WebRtcCall(CallIO):
    """One browser call: the browser's audio track in (downmixed, 16 kHz), our paced track out.

    It exists from the moment the offer is answered; `connected()` waits for the media path. A browser that
    never connects, or later sends nothing at all for `peer_timeout_s`, ends the call with ended_by "timeout".
    """

    def __init__(
        self,
        call_id: str,
        pc: RTCPeerConnection,
        caller: MediaStreamTrack,
        voice: AgentVoiceTrack,
        playout: Playout,
        *,
        peer_timeout_s: float = 15.0,
    ) -> None:
        self.call_id = call_id
        self.caller_id = None
        self.input_rate = IN_RATE
        self.output_rate = OUT_RATE
        self._pc = pc
        self._caller = caller
        self._voice = voice
        self._playout = playout
        self._peer_timeout_s = peer_timeout_s
        self._frames: asyncio.Queue[AudioFrame | None] = asyncio.Queue()
        self._received = 0
        self._media_started: float | None = None  # the call's clock: silence fills what the browser omits
        self._audio_arrived = False
        self._ended = asyncio.Event()
        self._changed = asyncio.Event()  # the connection state moved, or the call ended
        self._hung_up = False
        self._watch: asyncio.Task[None] | None = None
        pc.on("connectionstatechange", self._on_state)
        self._reader = asyncio.create_task(self._read_caller(), name=f"webrtc-reader-{call_id}")

    def _on_state(self) -> None:
        self._changed.set()
        state = self._pc.connectionState
        if state in ("failed", "closed") and not self._ended.is_set():
            self._ended_because("timeout" if state == "failed" else "caller")
            self._end_streams()

    def _ended_because(self, reason: str) -> None:
        """Say why the media ended, unless something already did or we hung up ourselves."""
        if self.ended_by is None and not self._hung_up:
            self.ended_by = reason

    async def connected(self) -> bool:
        """Wait for ICE + DTLS, then keep watching that the browser is still there. False, with the call over,
        when the connection failed, the call was hung up first, or nothing came up within the peer timeout."""
        deadline = time.monotonic() + self._peer_timeout_s
        while self._pc.connectionState != "connected" and not self._ended.is_set():
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                break
        if self._pc.connectionState == "connected" and not self._ended.is_set():
            if self._media_started is None:  # the clock runs from here even if no audio ever comes (muted)
                self._media_started = time.monotonic()
            self._watch = asyncio.create_task(self._watch_peer(), name=f"webrtc-watch-{self.call_id}")
            return True
        self._ended_because("timeout")
        self._end_streams()
        return False

    async def _watch_peer(self) -> None:
        """End the call when the browser sent nothing at all (audio, RTCP reports, DTLS) for the peer timeout:
        it vanished without hanging up (a killed tab, a dropped network). A browser whose microphone is muted
        or stopped sends no audio but still reports on ours, so it stays on the line."""
        poll_s = min(1.0, self._peer_timeout_s / 4)
        packets, heard_at = -1, time.monotonic()
        while not self._ended.is_set():
            report = await self._pc.getStats()
            now_packets = sum(s.packetsReceived for s in report.values() if isinstance(s, RTCTransportStats))
            if now_packets != packets:
                packets, heard_at = now_packets, time.monotonic()
            elif time.monotonic() - heard_at >= self._peer_timeout_s:
                log.warning("webrtc_peer_silent", silent_s=round(time.monotonic() - heard_at, 1))
                self._ended_because("timeout")
                self._end_streams()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), poll_s)

    async def _read_caller(self) -> None:
        framer = Reframer(IN_RATE)
        resamplers: dict[int, StreamResampler] = {}
        try:
            while not self._ended.is_set():
                try:
                    frame = await asyncio.wait_for(self._caller.recv(), SILENCE_FILL_AFTER_S)
                except TimeoutError:
                    self._fill_silence()
                    continue
                if not isinstance(frame, av.AudioFrame):
                    raise ValueError(f"the caller's track sent {type(frame).__name__}, not audio")
                if not self._audio_arrived:  # re-anchor on the first audio: jitter slack as from its arrival
                    self._audio_arrived = True
                    self._media_started = time.monotonic() - self._received / IN_RATE
                rate = int(frame.sample_rate)
                resampler = resamplers.setdefault(rate, StreamResampler(rate, IN_RATE))
                for out in framer.push(resampler.push(mono_samples(frame))):
                    self._deliver(out)
        except MediaStreamError:
            self._ended_because("timeout" if self._pc.connectionState == "failed" else "caller")
        except ValueError as exc:  # audio we cannot read: end the call rather than the process
            log.warning("webrtc_caller_audio_unreadable", error=str(exc))
        finally:
            self._end_streams()

    def _deliver(self, frame: AudioFrame) -> None:
        self._received += frame.num_samples
        self._frames.put_nowait(frame)

    def _fill_silence(self) -> None:
        """A browser using DTX sends nothing while its caller is quiet; the VAD must still see time pass."""
        if self._media_started is None:
            return
        behind = round((time.monotonic() - self._media_started) * IN_RATE) - self._received
        if behind > SILENCE_FILL_AFTER_S * IN_RATE:
            for _ in range(behind // IN_FRAME - JITTER_SLACK_FRAMES):
                self._deliver(AudioFrame(np.zeros(IN_FRAME, np.int16), IN_RATE))

    def _end_streams(self) -> None:
        if not self._ended.is_set():
            self._ended.set()
            self._changed.set()
            self._frames.put_nowait(None)
            self.playout.close()

    # CallIO ---------------------------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[AudioFrame]:
        while (frame := await self._frames.get()) is not None:
            yield frame

    async def dtmf(self) -> AsyncIterator[DtmfDigit]:
        await self._ended.wait()  # browsers have no keypad here: the stream just ends with the call
        return
        yield  # pragma: no cover - makes this an async generator

    def now(self) -> float:
        return self._received / IN_RATE

    async def hangup(self) -> None:
        self._hung_up = True
        self._end_streams()
        await self._pc.close()

    async def transfer(self, target: str) -> bool:
        log.info("webrtc_transfer_not_supported", target=target)
        return False

    async def aclose(self) -> None:
        """Stop reading and watching, close the peer connection (idempotent)."""
        tasks = [task for task in (self._reader, self._watch) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._end_streams()
        self._voice.stop()
        await self._pc.close()


# The endpoint -------------------------------------------------------------------------------------------
_AIOICE_HOST_ADDRESSES = aioice.ice.get_host_addresses


def use_host_addresses(addresses: tuple[str, ...]) -> None:
    """Offer exactly these host candidates (aioice itself never offers 127.0.0.1); empty: aioice's own choice."""
    if not addresses:
        aioice.ice.get_host_addresses = _AIOICE_HOST_ADDRESSES
        return

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (use_ipv6 if ":" in a else use_ipv4)]

    aioice.ice.get_host_addresses = configured


def check_offer(offer_sdp: str) -> None:
    """Raise BadOffer for SDP aiortc cannot read or without an audio m-line (before any socket is opened)."""
    try:
        parsed = SessionDescription.parse(offer_sdp)
    except Exception as exc:  # the parser raises whatever its string handling hits on garbage
        raise BadOffer(f"The SDP offer cannot be parsed ({type(exc).__name__}).") from None
    if not any(media.kind == "audio" for media in parsed.media):
        raise BadOffer("The SDP offer has no audio m-line.")


class WebRtcEndpoint:
    """Owns every live browser call: answers offers (ICE gathered before the answer), one task per call.

    Every answered offer becomes a call handed to `on_call`, connected or not: one whose browser never
    connects is over at once (ended_by "timeout"), so the calls table shows browsers that could not reach us.
    """

    def __init__(
        self,
        on_call: BrowserCallHandler,
        *,
        max_calls: int,
        max_calls_per_client: int | None = None,
        max_calls_per_session: int | None = None,
        host_addresses: tuple[str, ...] = (),
        ice_servers: tuple[str, ...] = (),
        peer_timeout_s: float = 15.0,
    ) -> None:
        self._on_call = on_call
        self._max_calls = max_calls
        self._per_client = max_calls_per_client or max_calls
        self._per_session = max_calls_per_session or max_calls
        # Who holds each line: a call id (or an offer being answered) -> (client, session id)
        self._holders: dict[object, tuple[str, str]] = {}
        self._host_addresses = host_addresses
        self._ice_servers = ice_servers
        self._peer_timeout_s = peer_timeout_s
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, WebRtcCall] = {}
        self._answering = 0
        self._closing = False
        self.answered = 0  # calls whose browser connected
        self.refused = 0  # offers refused because every line was busy
        if host_addresses:
            use_host_addresses(host_addresses)

    @property
    def active_calls(self) -> int:
        return len(self._tasks)

    @property
    def max_calls(self) -> int:
        return self._max_calls

    def _check_holders(self, client: str, session_id: str) -> None:
        """One client (one session) may hold only so many lines, so no one caller takes them all."""
        held = list(self._holders.values())
        if client and sum(holder == client for holder, _ in held) >= self._per_client:
            raise TooManyLinesHeld(f"This client already holds {self._per_client} browser call lines.")
        if sum(session == session_id for _, session in held) >= self._per_session:
            raise SessionOnCall("This session already has a browser call; hang it up first.")

    async def answer(self, offer_sdp: str, session_id: str, *, client: str = "") -> AnsweredOffer:
        if self._closing:
            raise BrowserCallsClosed("Browser calls are shutting down.")
        check_offer(offer_sdp)
        if len(self._tasks) + self._answering >= self._max_calls:
            self.refused += 1
            raise TooManyBrowserCalls(
                f"All {self._max_calls} browser call lines are busy; try again shortly."
            )
        self._check_holders(client, session_id)
        pending = object()
        self._holders[pending] = (client, session_id)
        self._answering += 1
        servers = [RTCIceServer(url) for url in self._ice_servers]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        playout = Playout(OUT_RATE)
        voice = AgentVoiceTrack(playout)
        try:
            try:
                await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            except Exception as exc:  # aiortc raises ValueError, KeyError... for offers it cannot use
                raise BadOffer(f"The SDP offer cannot be used: {exc}") from None
            audio = next((t for t in pc.getTransceivers() if t.kind == "audio"), None)
            if audio is None:
                raise BadOffer("The SDP offer has no audio m-line.")
            pc.addTrack(voice)
            await pc.setLocalDescription(await pc.createAnswer())  # gathers every candidate first
        except BaseException:
            voice.stop()
            await pc.close()
            raise
        finally:
            self._answering -= 1
            del self._holders[pending]
        call_id = f"webrtc-{uuid.uuid4().hex[:16]}"
        self._holders[call_id] = (client, session_id)
        call = WebRtcCall(
            call_id, pc, audio.receiver.track, voice, playout, peer_timeout_s=self._peer_timeout_s
        )
        self._live[call_id] = call
        task = asyncio.create_task(self._run(call, session_id), name=f"webrtc-call-{call_id}")
        self._tasks[call_id] = task
        task.add_done_callback(lambda _t: (self._tasks.pop(call_id, None), self._holders.pop(call_id, None)))
        log.info("webrtc_offer_answered", call_id=call_id, session_id=session_id)
        return AnsweredOffer(sdp=pc.localDescription.sdp, call_id=call_id)

    async def _run(self, call: WebRtcCall, session_id: str) -> None:
        try:
            if await call.connected():
                self.answered += 1
                log.info("webrtc_call_connected", call_id=call.call_id)
            else:
                log.warning("webrtc_call_not_connected", call_id=call.call_id, ended_by=call.ended_by)
            await self._on_call(call, session_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webrtc_call_failed", call_id=call.call_id)
        finally:
            self._live.pop(call.call_id, None)
            await call.aclose()
            log.info("webrtc_call_closed", call_id=call.call_id, ended_by=call.ended_by)

    async def end_call(self, call_id: str) -> bool:
        call = self._live.get(call_id)
        if call is None:
            return False
        await call.hangup()  # connected or still connecting: either way its task records it and ends
        return True

    async def aclose(self) -> None:
        """Close every peer connection and await every call task (idempotent)."""
        if self._closing:
            return
        self._closing = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._host_addresses:
            use_host_addresses(())
