"""How corpus conversations are scored: normalised word recall, turns answered twice, end state."""

from __future__ import annotations

import pytest

from agent.qa.corpus_judge import AgentTurn, Outcome, align, end_state_failures, recall_words, score
from agent.qa.corpus_manifest import Conversation, CorpusTurn, split_script

pytestmark = pytest.mark.unit


def conversation(*says: str, **expect: object) -> Conversation:
    turns = []
    for index, say in enumerate(says, start=1):
        text, segments = split_script(say)
        turns.append(CorpusTurn(index, say, text, segments, "joe", "normal", "clean", f"x/{index:02d}.wav"))
    return Conversation(
        name="example",
        description="",
        kinds=(),
        voice="joe",
        band="clean",
        turns=tuple(turns),
        appointments=tuple(expect.get("appointments", ())),  # type: ignore[arg-type]
        heard=tuple(expect.get("heard", ())),  # type: ignore[arg-type]
        never_heard=tuple(expect.get("never_heard", ())),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("said", "transcribed"),
    [
        ("five five five, oh one four, nine eight seven six", "555-014-9876"),
        ("at 2:30", "at two thirty"),
        ("December 1st", "December first"),
        ("December 1st", "December 1"),
        ("used Hondas", "used Honda's"),
        ("under 20 thousand dollars", "under $20,000"),
        ("Jon, J, O, N, with no h", "Jon, J-O-N, with no H."),
        ("Um, so my car, uh, is pulling", "So my car is pulling"),
        ("at 10 in the morning", "at ten in the morning"),
        ("twenty five", "25"),
        ("ok", "Okay."),
        ("Yep.", "Yup!"),
        ("lisa dot moore at gmail dot com", "lisa.moore@gmail.com"),
        ("at gmail dot com", "at gmail.com."),
    ],
)
def test_recall_words_fold_what_whisper_writes_differently(said: str, transcribed: str) -> None:
    assert recall_words(said) == recall_words(transcribed)


def test_recall_words_keep_what_differs() -> None:
    assert recall_words("Wednesday at 3") != recall_words("Tuesday at 3")
    assert recall_words("lisa dot moore at gmail dot com") != recall_words("LisaDarp Moore at gmail.com")
    assert recall_words("555 014 9876") != recall_words("555 014 9877")


def test_align_finds_the_words_in_order() -> None:
    pairs = align(["a", "b", "c", "d"], ["x", "a", "c", "d", "b"])
    assert [i for i, _ in pairs] == [0, 2, 3]


def test_a_turn_split_in_two_replies_counts_as_answered_twice() -> None:
    script = conversation("I need an oil change", "Actually, [0.8] make it Wednesday at 3", "yes")
    outcome = Outcome("example", "replay")
    outcome.transcript = [
        AgentTurn("I need an oil change.", "What day works best?"),
        AgentTurn("Actually,", "Sorry, I'm not sure about that one."),
        AgentTurn("make it Wednesday at 3", "Let me read that back ... Is that right?"),
        AgentTurn("Yes.", "You're all set. Your confirmation code is K 7 P 2 Q 9."),
    ]
    score(script, outcome)
    assert outcome.answered_twice == 1
    assert (
        outcome.words_recalled
        == outcome.words_said
        == len(recall_words(" ".join(t.text for t in script.turns)))
    )
    assert outcome.turns_to_booking == 3


def test_lost_words_lower_the_recall() -> None:
    script = conversation("Actually, [0.8] make it Wednesday at 3")
    outcome = Outcome("example", "replay")
    outcome.transcript = [AgentTurn("Actually,", "Sorry?")]
    score(script, outcome)
    assert outcome.words_said == 6 and outcome.words_recalled == 1
    assert outcome.answered_twice == 0 and outcome.turns_to_booking is None


def test_end_state_rows_and_phrases() -> None:
    row = {"type": "service", "service": "Oil change", "date": "2026-12-01", "status": "booked"}
    script = conversation(
        "hi", appointments=[row], heard=[("7:30", "seven thirty")], never_heard=["your name"]
    )
    found = [row | {"time": "10:00", "name": "John Smith"}]
    assert end_state_failures(script, "We open at 7:30.", found) == []
    failures = end_state_failures(script, "What's your name? We open at 8.", [])
    assert len(failures) == 3
    assert "expected 1 appointment rows, found 0" in failures[0]
    assert "never said '7:30' or 'seven thirty'" in failures[1]
    assert "'your name'" in failures[2]
