"""The call's one outgoing buffer: paced frames, buffered sends, what the caller heard, barge-in, the end."""

from __future__ import annotations

import numpy as np
import pytest

from agent.calls.playout import Playout

pytestmark = pytest.mark.unit
FRAME = 160  # 20 ms at 8 kHz


class SendBuffer:
    """A transport's own buffer downstream of the playout (a SIP stack's, a LiveKit audio source's)."""

    def __init__(self) -> None:
        self.held = 0
        self.flushed = 0

    def play(self, samples: int) -> None:
        self.held -= min(self.held, samples)

    def flush(self) -> None:
        self.flushed += self.held
        self.held = 0


def test_a_paced_sender_gets_whole_frames_then_silence_and_only_real_audio_counts() -> None:
    playout = Playout(8000)
    playout.push(np.ones(FRAME + 40, np.int16))
    assert not playout.drained.is_set() and playout.queued == FRAME + 40
    first, second, third = (playout.pull(FRAME) for _ in range(3))
    assert (first.sum(), second.sum(), third.sum()) == (FRAME, 40, 0)
    assert playout.sent == playout.played == FRAME + 40 and playout.drained.is_set()


def test_clear_drops_what_was_not_heard_and_later_frames_are_silence() -> None:
    playout = Playout(8000)
    playout.push(np.ones(3 * FRAME, np.int16))
    playout.pull(FRAME)
    assert playout.clear() == 2 * FRAME
    assert playout.pending == 0 and playout.played == FRAME and playout.drained.is_set()
    assert not playout.pull(FRAME).any()


def test_audio_held_downstream_is_not_yet_heard_and_a_clear_flushes_it() -> None:
    buffer = SendBuffer()
    playout = Playout(8000, downstream=lambda: buffer.held, flush=buffer.flush)
    playout.push(np.ones(5 * FRAME, np.int16))
    buffer.held += playout.take(3 * FRAME).size  # the transport fills its own buffer
    assert playout.played == 0 and playout.pending == 5 * FRAME
    buffer.play(FRAME)
    assert playout.played == FRAME and playout.pending == 4 * FRAME
    assert playout.clear() == 4 * FRAME  # two frames queued here, two held downstream
    assert buffer.flushed == 2 * FRAME and playout.played == FRAME and playout.pending == 0


def test_drained_waits_for_the_downstream_buffer_to_empty() -> None:
    buffer = SendBuffer()
    playout = Playout(8000, downstream=lambda: buffer.held, flush=buffer.flush)
    playout.push(np.ones(FRAME, np.int16))
    buffer.held += playout.take(3 * FRAME).size
    playout.settle()
    assert not playout.drained.is_set()
    buffer.play(FRAME)
    playout.settle()
    assert playout.drained.is_set() and playout.played == FRAME


def test_what_was_heard_never_goes_backwards_when_the_downstream_estimate_jumps() -> None:
    reported = [0]
    playout = Playout(8000, downstream=lambda: reported[0])
    playout.push(np.ones(2 * FRAME, np.int16))
    playout.take(2 * FRAME)
    assert playout.played == 2 * FRAME
    reported[0] = 5 * FRAME  # an estimate larger than anything still unheard
    assert playout.played == 2 * FRAME


def test_audio_the_transport_could_not_send_goes_first_next_time() -> None:
    playout = Playout(8000)
    playout.push(np.arange(1, 2 * FRAME + 1, dtype=np.int16))
    chunk = playout.take(2 * FRAME)
    playout.give_back(chunk[FRAME:])
    assert playout.sent == FRAME and playout.queued == FRAME
    assert playout.take(FRAME)[0] == FRAME + 1


def test_observers_see_every_chunk_queued_and_every_clear() -> None:
    playout = Playout(8000)
    seen: list[int] = []
    clears: list[bool] = []
    playout.observe(
        on_push=lambda samples: seen.append(int(samples.size)), on_clear=lambda: clears.append(True)
    )
    playout.push(np.ones(FRAME, np.int16))
    playout.push(np.zeros(0, np.int16))  # nothing: not an event
    playout.clear()
    assert seen == [FRAME] and clears == [True]


def test_a_closed_playout_takes_no_more_audio() -> None:
    playout = Playout(8000)
    playout.push(np.ones(FRAME, np.int16))
    playout.close()
    playout.push(np.ones(FRAME, np.int16))
    assert playout.pending == 0 and playout.drained.is_set() and not playout.pull(FRAME).any()
