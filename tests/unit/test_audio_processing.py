"""Echo cancellation and noise suppression: echo removed, caller kept, noise lowered, frames unchanged in shape."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from agent.audio.frames import AudioFrame, float_to_int16
from agent.audio.level import dbfs
from agent.audio.processing import SUPPORTED_RATES, CallAudioProcessor, ProcessingConfig

pytestmark = pytest.mark.unit

needs_livekit = pytest.mark.skipif(
    not CallAudioProcessor.available(), reason="livekit (pin livekit==1.2.0) is not importable here"
)

ECHO_ONLY = ProcessingConfig(echo_cancellation=True, noise_suppression=False)
NOISE_ONLY = ProcessingConfig(echo_cancellation=False, noise_suppression=True)
BOTH = ProcessingConfig(echo_cancellation=True, noise_suppression=True)

ECHO_DELAY_MS = 40
ECHO_LOSS_DB = 6.0
CONVERGENCE_S = 3.0
FRAME_MS = 20


def speech_like(rate: int, seconds: float, pitch: float, seed: int) -> npt.NDArray[np.int16]:
    """A voice stand-in: a harmonic series on a wandering pitch, cut into syllables and pauses, -16 dBFS peak."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rate * seconds)) / rate
    f0 = pitch * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t) + 0.05 * np.sin(2 * np.pi * 2.3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = np.zeros_like(t)
    for k in range(1, 30):
        if k * pitch * 1.2 > 0.45 * rate:
            break
        voice += np.sin(k * phase) / k * (1 + 0.5 * np.sin(2 * np.pi * (0.3 + 0.1 * k) * t))
    syllables = np.clip(np.sin(2 * np.pi * 3.7 * t + rng.uniform(0, 2 * np.pi)), 0, None) ** 0.7
    pauses = np.sin(2 * np.pi * 0.45 * t + rng.uniform(0, 2 * np.pi)) > -0.6
    voice *= syllables * pauses
    return float_to_int16(voice / np.abs(voice).max() * 0.15)


def echo_of(far: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.float64]:
    """What a speakerphone sends back: the agent's voice 40 ms later and 6 dB quieter."""
    delay = rate * ECHO_DELAY_MS // 1000
    delayed = np.concatenate((np.zeros(delay), far[:-delay].astype(np.float64)))
    return delayed * 10 ** (-ECHO_LOSS_DB / 20)


def to_int16(signal: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def run_call(
    processor: CallAudioProcessor,
    near: npt.NDArray[np.int16],
    far: npt.NDArray[np.int16] | None = None,
    feed_far: Callable[[CallAudioProcessor, npt.NDArray[np.int16]], None] | None = None,
) -> tuple[npt.NDArray[np.int16], float]:
    """Play a call in 20 ms steps (agent audio out, then caller frame in); return the output and CPU s/frame."""
    rate = processor.sample_rate
    step = rate * FRAME_MS // 1000
    out: list[npt.NDArray[np.int16]] = []
    started = time.process_time()
    for start in range(0, near.size - step + 1, step):
        if far is not None:
            (feed_far or CallAudioProcessor.process_far)(processor, far[start : start + step])
        frame = processor.process_near(AudioFrame(near[start : start + step], rate))
        assert frame.sample_rate == rate and frame.num_samples == step
        out.append(frame.samples)
    return np.concatenate(out), (time.process_time() - started) / len(out)


def after_convergence(signal: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
    return signal[round(CONVERGENCE_S * rate) :]


@needs_livekit
@pytest.mark.parametrize("rate", SUPPORTED_RATES)
async def test_the_agents_own_voice_is_cancelled_from_the_callers_audio(rate: int) -> None:
    far = speech_like(rate, 6.0, pitch=140, seed=1)
    near = to_int16(echo_of(far, rate))
    processor = CallAudioProcessor(ECHO_ONLY, rate)
    out, cpu = run_call(processor, near, far)
    await processor.aclose()

    before = dbfs(after_convergence(near, rate))
    after = dbfs(after_convergence(out, rate))
    print(
        f"{rate} Hz: echo {before:.1f} dBFS -> {after:.1f} dBFS ({before - after:.1f} dB less), {cpu * 1e6:.0f} us CPU per 20 ms"
    )
    assert before - after >= 10.0


@needs_livekit
async def test_echo_stays_cancelled_when_agent_audio_comes_in_odd_chunks_and_pauses() -> None:
    # The session only reports audio it actually plays: nothing while the agent is quiet, and chunks
    # that do not line up with 10 ms blocks. The processor must still give the canceller a steady stream.
    rate = 16000
    far = speech_like(rate, 10.0, pitch=140, seed=2)
    far[round(3.5 * rate) : round(6.5 * rate)] = 0
    near = to_int16(echo_of(far, rate))

    def played(processor: CallAudioProcessor, chunk: npt.NDArray[np.int16]) -> None:
        if not chunk.any():
            return  # agent quiet: nothing was played, nothing reported
        for piece in np.array_split(chunk, [37, 151]):
            processor.process_far(piece)

    processor = CallAudioProcessor(ECHO_ONLY, rate)
    out, _ = run_call(processor, near, far, feed_far=played)
    await processor.aclose()

    for start_s, end_s in ((2.0, 3.5), (7.0, 10.0)):
        span = slice(round(start_s * rate), round(end_s * rate))
        reduction = dbfs(near[span]) - dbfs(out[span])
        print(f"{start_s}-{end_s} s: {reduction:.1f} dB less echo")
        assert reduction >= 10.0


@needs_livekit
async def test_a_stream_delay_hint_is_accepted_and_echo_is_still_cancelled() -> None:
    rate = 8000
    far = speech_like(rate, 6.0, pitch=140, seed=3)
    near = to_int16(echo_of(far, rate))
    processor = CallAudioProcessor(ProcessingConfig(True, False, stream_delay_ms=ECHO_DELAY_MS), rate)
    out, _ = run_call(processor, near, far)
    await processor.aclose()
    reduction = dbfs(after_convergence(near, rate)) - dbfs(after_convergence(out, rate))
    print(f"with a {ECHO_DELAY_MS} ms hint: {reduction:.1f} dB less echo")
    assert reduction >= 10.0


@needs_livekit
@pytest.mark.parametrize("rate", [8000, 16000])
async def test_the_caller_still_comes_through_while_the_agent_talks(rate: int) -> None:
    # agent talks throughout; the caller talks over it from 3 s to 5 s, then stops again
    far = speech_like(rate, 7.0, pitch=140, seed=4)
    caller = speech_like(rate, 7.0, pitch=230, seed=5)
    caller[: 3 * rate] = 0
    caller[5 * rate :] = 0
    echo = echo_of(far, rate)
    processor = CallAudioProcessor(BOTH, rate)
    out, _ = run_call(processor, to_int16(echo + caller), far)
    await processor.aclose()

    both = slice(3 * rate, 5 * rate)
    caller_level, echo_level, out_level = dbfs(caller[both]), dbfs(to_int16(echo[both])), dbfs(out[both])
    kept = out[both].astype(np.float64)
    with_caller = best_correlation(kept, caller[both], rate)
    with_echo = best_correlation(kept, to_int16(echo[both]), rate)
    print(
        f"{rate} Hz double talk: caller alone {caller_level:.1f} dBFS, echo {echo_level:.1f}, output {out_level:.1f}; "
        f"output correlates {with_caller:.2f} with the caller, {with_echo:.2f} with the echo"
    )
    assert out_level >= caller_level - 10.0
    assert with_caller > 0.5

    # the interruption did not throw the canceller off: once the caller stops, the echo is gone again
    agent_alone = slice(round(5.5 * rate), 7 * rate)
    reduction = dbfs(to_int16(echo[agent_alone])) - dbfs(out[agent_alone])
    print(f"after double talk: {reduction:.1f} dB less echo")
    assert reduction >= 10.0


def best_correlation(output: npt.NDArray[np.float64], reference: npt.NDArray[np.int16], rate: int) -> float:
    """Highest correlation of output with reference delayed by 0..30 ms (the module delays what it passes)."""
    ref = reference.astype(np.float64)
    lags = range(rate * 30 // 1000)
    return max(float(np.corrcoef(output[lag:], ref[: ref.size - lag])[0, 1]) for lag in lags)


@needs_livekit
@pytest.mark.parametrize("rate", [8000, 16000, 48000])
async def test_steady_background_noise_is_suppressed(rate: int) -> None:
    noise = to_int16(np.random.default_rng(6).standard_normal(6 * rate) * 0.01 * 32768)  # -40 dBFS RMS
    processor = CallAudioProcessor(NOISE_ONLY, rate)
    out, cpu = run_call(processor, noise)
    await processor.aclose()

    before = dbfs(after_convergence(noise, rate))
    after = dbfs(after_convergence(out, rate))
    print(
        f"{rate} Hz: noise {before:.1f} dBFS -> {after:.1f} dBFS ({before - after:.1f} dB less), {cpu * 1e6:.0f} us CPU per 20 ms"
    )
    assert before == pytest.approx(-40.0, abs=0.5)
    assert before - after >= 6.0


@needs_livekit
async def test_noise_suppression_keeps_the_callers_voice() -> None:
    rate = 16000
    voice = speech_like(rate, 6.0, pitch=230, seed=7)
    processor = CallAudioProcessor(NOISE_ONLY, rate)
    out, _ = run_call(processor, voice)
    await processor.aclose()
    loss = dbfs(after_convergence(voice, rate)) - dbfs(after_convergence(out, rate))
    print(f"voice through noise suppression: {loss:.1f} dB lost")
    assert loss <= 3.0


@needs_livekit
@pytest.mark.parametrize("rate", SUPPORTED_RATES)
@pytest.mark.parametrize("frame_ms", [10, 20, 30])
async def test_frames_keep_their_length_and_rate(rate: int, frame_ms: int) -> None:
    processor = CallAudioProcessor(BOTH, rate)
    processor.process_far(np.zeros(rate // 7, dtype=np.int16))
    frame = AudioFrame.silence(rate, frame_ms)
    out = processor.process_near(frame)
    await processor.aclose()
    assert out.sample_rate == rate
    assert out.num_samples == frame.num_samples
    assert out.samples.dtype == np.int16


@pytest.mark.parametrize("rate", [0, 11025, 22050, 32000, 44100, 12345])
def test_unsupported_rates_are_refused(rate: int) -> None:
    with pytest.raises(ValueError, match="supports"):
        CallAudioProcessor(BOTH, rate)


@needs_livekit
async def test_frames_the_module_cannot_take_are_refused_not_crashed_on() -> None:
    # livekit 1.2.0 aborts the whole process on a buffer that is not whole 10 ms blocks
    processor = CallAudioProcessor(BOTH, 16000)
    with pytest.raises(ValueError, match="10 ms"):
        processor.process_near(AudioFrame(np.zeros(250, dtype=np.int16), 16000))
    with pytest.raises(ValueError, match="10 ms"):
        processor.process_near(AudioFrame(np.zeros(0, dtype=np.int16), 16000))
    with pytest.raises(ValueError, match="8000 Hz"):
        processor.process_near(AudioFrame.silence(8000))
    with pytest.raises(TypeError):
        processor.process_far(np.zeros(160, dtype=np.float32))
    await processor.aclose()


def test_stream_delay_outside_what_webrtc_accepts_is_refused() -> None:
    for delay in (-1, 501):
        with pytest.raises(ValueError, match="stream_delay_ms"):
            ProcessingConfig(echo_cancellation=True, noise_suppression=False, stream_delay_ms=delay)


def test_with_both_features_off_audio_passes_through_without_livekit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "livekit", None)
    monkeypatch.setitem(sys.modules, "livekit.rtc", None)
    assert not CallAudioProcessor.available()
    processor = CallAudioProcessor(ProcessingConfig(echo_cancellation=False, noise_suppression=False), 8000)
    frame = AudioFrame(np.arange(160, dtype=np.int16), 8000)
    processor.process_far(np.ones(80, dtype=np.int16))
    assert processor.process_near(frame) is frame
    with pytest.raises(RuntimeError, match=r"livekit==1\.2\.0"):
        CallAudioProcessor(BOTH, 8000)


@needs_livekit
async def test_far_audio_backlog_is_bounded_and_released_in_step() -> None:
    processor = CallAudioProcessor(ECHO_ONLY, 8000)
    processor.process_far(np.ones(8000 * 3, dtype=np.int16))  # 3 s at once, as if the caller's audio stalled
    assert processor.far_backlog_ms == pytest.approx(1000.0)
    processor.process_near(AudioFrame.silence(8000))
    assert processor.far_backlog_ms == pytest.approx(980.0)
    await processor.aclose()


@needs_livekit
async def test_close_is_idempotent_and_later_use_is_an_error() -> None:
    processor = CallAudioProcessor(BOTH, 16000)
    await processor.aclose()
    await processor.aclose()
    assert processor.closed
    with pytest.raises(RuntimeError, match="closed"):
        processor.process_near(AudioFrame.silence(16000))
    with pytest.raises(RuntimeError, match="closed"):
        processor.process_far(np.zeros(160, dtype=np.int16))
