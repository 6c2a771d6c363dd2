"""The fitted Whisper window: its size, and how a decode is cut where the real audio ended."""

from __future__ import annotations

import pytest

from agent.speech.whisper_window import (
    fitted_frames,
    late_timestamps,
    segments_before_end,
    without_repeats,
)

pytestmark = pytest.mark.unit

TS = 50000  # a made-up first timestamp token id; each step above it is 20 ms
EOT = 49999


def ts(seconds: float) -> int:
    return TS + round(seconds / 0.02)


def test_window_is_the_utterance_plus_margin_rounded_up_to_a_second() -> None:
    assert fitted_frames(16000 * 2, margin_s=7.0) == 900  # 2 s + 7 s
    assert fitted_frames(16000 * 2 + 1, margin_s=7.0) == 1000  # a sample over rounds up
    assert fitted_frames(16000 * 23, margin_s=7.0) == 3000  # exactly Whisper's 30 s


def test_an_utterance_too_long_for_one_window_goes_the_classic_way() -> None:
    assert fitted_frames(16000 * 24, margin_s=7.0) is None


def test_segments_after_the_end_of_the_audio_are_dropped() -> None:
    # "yes" said in 1.2 s of audio; the decoder saw 8 s of padding and says it again at 2.0 s.
    tokens = [ts(0.0), 1, 2, ts(0.8), ts(2.0), 1, 2, ts(2.8), EOT]
    assert segments_before_end(tokens, timestamp_begin=TS, eot=EOT, duration_s=1.2) == [[1, 2]]


def test_every_segment_inside_the_audio_is_kept() -> None:
    tokens = [ts(0.0), 1, 2, ts(1.0), ts(1.1), 3, 4, 5, ts(2.5), EOT]
    assert segments_before_end(tokens, timestamp_begin=TS, eot=EOT, duration_s=3.0) == [[1, 2], [3, 4, 5]]


def test_the_first_segment_is_kept_even_when_whisper_dates_it_late() -> None:
    # "five" in 0.5 s of audio, decoded as starting at 0.50 s
    tokens = [ts(0.5), 5, EOT]
    assert segments_before_end(tokens, timestamp_begin=TS, eot=EOT, duration_s=0.5) == [[5]]


def test_a_decode_without_a_closing_timestamp_keeps_its_words() -> None:
    assert segments_before_end([ts(0.0), 7, 8, EOT], timestamp_begin=TS, eot=EOT, duration_s=2.0) == [[7, 8]]


def test_a_segment_repeating_the_one_before_is_a_loop() -> None:
    assert without_repeats([" David Lopez.", " David Lopez,", " David Lopez"]) == ["David Lopez."]
    assert without_repeats(["Yes.", "Yes, that's right."]) == ["Yes.", "Yes, that's right."]
    assert without_repeats(["", " . "]) == []
    assert without_repeats([" Scup. Scup. Scup."]) == ["Scup."]
    assert without_repeats([" Yes. No. Yes."]) == ["Yes.", "No.", "Yes."]
    # digits read out are never collapsed: commas and dashes do not end a sentence
    assert without_repeats([" 555, 555, 0123."]) == ["555, 555, 0123."]
    assert without_repeats([" John Dats Method, G, S, S, S, S, S"]) == ["John Dats Method, G, S"]
    assert without_repeats([" 5 5 5 5"]) == ["5 5 5 5"]


def test_timestamps_past_the_audio_are_suppressed() -> None:
    late = late_timestamps(TS, after_s=2.5)
    assert late[0] == ts(2.5) and late[-1] == TS + 1500  # 2.50 s up to 30.00 s
    assert ts(2.48) not in late
    assert late_timestamps(TS, after_s=31.0) == []
