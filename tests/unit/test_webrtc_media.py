"""The WebRTC transport's pure parts: frame conversion, the agent's outbox, the paced track, offer checks."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from agent.calls.browser import BadOffer
from agent.calls.playout import Playout
from telephony.webrtc import check_offer, mono_samples
from telephony.webrtc_track import OUT_FRAME, OUT_RATE, AgentVoiceTrack, outgoing_frame

pytestmark = pytest.mark.unit


def _frame(data: np.ndarray, fmt: str, layout: str, samples: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
    frame.sample_rate = 48000
    frame.time_base = fractions.Fraction(1, 48000)
    assert frame.samples == samples
    return frame


def test_stereo_packed_s16_is_averaged_to_mono() -> None:
    left = np.full(960, 1000, np.int16)
    right = np.full(960, -3000, np.int16)
    interleaved = np.stack([left, right], axis=1).reshape(1, -1)
    mono = mono_samples(_frame(interleaved, "s16", "stereo", 960))
    assert mono.dtype == np.int16 and mono.size == 960
    assert set(mono.tolist()) == {-1000}


def test_planar_float_is_averaged_and_scaled_to_int16() -> None:
    planes = np.stack([np.full(480, 0.5, np.float32), np.full(480, 1.0, np.float32)])
    mono = mono_samples(_frame(planes, "fltp", "stereo", 480))
    assert set(mono.tolist()) == {24576}  # 0.75 of full scale


def test_full_scale_float_clips_instead_of_wrapping() -> None:
    planes = np.full((1, 480), -1.5, np.float32)
    assert set(mono_samples(_frame(planes, "fltp", "mono", 480)).tolist()) == {-32768}


def test_outgoing_frame_carries_the_samples_at_48k_mono() -> None:
    samples = np.arange(OUT_FRAME, dtype=np.int16)
    frame = outgoing_frame(samples, pts=1920)
    assert (frame.sample_rate, frame.samples, frame.pts, frame.layout.name) == (
        OUT_RATE,
        OUT_FRAME,
        1920,
        "mono",
    )
    assert np.array_equal(mono_samples(frame), samples)


async def test_voice_track_stamps_20ms_frames_and_plays_queued_audio_first() -> None:
    playout = Playout(OUT_RATE)
    playout.push(np.full(OUT_FRAME, 7, np.int16))
    ticks = iter([0.0, 100.0, 200.0])  # a clock far ahead: the track is late and must not sleep
    track = AgentVoiceTrack(playout, clock=lambda: next(ticks))
    frames = [await track.recv() for _ in range(3)]
    assert [f.pts for f in frames] == [0, OUT_FRAME, 2 * OUT_FRAME]
    assert mono_samples(frames[0]).tolist() == [7] * OUT_FRAME
    assert not mono_samples(frames[1]).any() and playout.sent == OUT_FRAME
    track.stop()


@pytest.mark.parametrize(
    "sdp",
    [
        "hello",
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",  # no media at all
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
        "c=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n",
    ],
)
def test_offers_without_usable_audio_are_refused(sdp: str) -> None:
    with pytest.raises(BadOffer):
        check_offer(sdp)
