"""Judging a caller corpus conversation on any channel: end state, caller words recalled, turns answered twice."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.qa.corpus_manifest import Conversation
from agent.qa.dialog_scenarios import ScenarioResult, check_appointments
from agent.qa.voice_replay import VoiceResult

FILLERS = frozenset({"um", "uh", "er", "erm", "hmm", "mm", "ah"})  # not words the dialog needs: not counted
CONFIRMED = ("confirmation code", "confirmation number")
_UNITS = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
} | {"oh": 0}
_TENS = {
    word: 10 * (i + 2)
    for i, word in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])
}
_SCALES = {"hundred": 100, "thousand": 1000}
_ORDINALS = {
    word: f"{i + 1}{suffix}"
    for i, (word, suffix) in enumerate(
        zip(
            [
                "first",
                "second",
                "third",
                "fourth",
                "fifth",
                "sixth",
                "seventh",
                "eighth",
                "ninth",
                "tenth",
                "eleventh",
                "twelfth",
            ],
            ["st", "nd", "rd"] + ["th"] * 9,
            strict=True,
        )
    )
}
_SAME = {"ok": "okay", "alright": "all right", "yup": "yep"}
# An address as Whisper writes it ("lisa.moore@gmail.com", "gmail.com") is the words the caller said ("lisa dot
# moore at gmail dot com"); the dots of "a.m." and "J.O.N." are no words.
_ADDRESS = re.compile(
    r"[a-z0-9._%+-]*[a-z0-9]@[a-z0-9.-]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|edu|us)\b"
)


def _numbers(tokens: list[str]) -> list[str]:
    """Runs of number words become numbers ("twenty five" -> "25", "five five five" -> "5 5 5", "20 thousand"
    -> "20000"); digit strings stay as written (a leading zero is a digit a caller said)."""
    out: list[str] = []
    value: int | None = None
    written: str | None = None  # digits as written, until a scale word multiplies them

    def flush() -> None:
        nonlocal value, written
        if written is not None:
            out.append(written)
        elif value is not None:
            out.append(str(value))
        value, written = None, None

    for token in tokens:
        if token in _SCALES and value is not None:
            value, written = value * _SCALES[token], None
        elif token.isdigit():
            flush()
            value, written = int(token), token
        elif (
            token in _UNITS
            and 0 < _UNITS[token] < 10
            and value is not None
            and written is None
            and value % 100 >= 20
            and value % 10 == 0
        ):
            value += _UNITS[token]
        elif token in _TENS and value is not None and written is None and value >= 100 and value % 100 == 0:
            value += _TENS[token]
        else:
            flush()
            if token in _UNITS:
                value = _UNITS[token]
            elif token in _TENS:
                value = _TENS[token]
            else:
                out.append(token)
    flush()
    return out


def recall_words(text: str) -> list[str]:
    """Words as compared for recall: lower case, no punctuation, numbers as single digits, no fillers.

    Number words and digits fold together ("five five five" = "555" = "5 5 5", "two thirty" = "2:30"),
    ordinals too ("first" = "1st" = "1": Whisper writes both "December 1" and "December 1st"), spelled letters join ("J, O, N" = "J-O-N" = "jon"), and a written address is read out ("gmail.com" = "gmail dot com").
    """
    spoken = _ADDRESS.sub(lambda m: m.group().replace(".", " dot ").replace("@", " at "), text.lower())
    cleaned = re.sub(r"(?<=[a-z])\.(?=[a-z])", "", spoken).replace("-", " ").replace(":", " ")
    cleaned = re.sub(r"(?<=\d),(?=\d{3})", "", cleaned)
    cleaned = re.sub(r"\$(\d+)", r"\1 dollars", cleaned)
    tokens: list[str] = []
    for token in re.findall(r"[a-z0-9']+", cleaned):
        token = token.replace("'", "")  # "that's" = "thats", "Honda's" = "Hondas"
        token = re.sub(r"^(\d+)(st|nd|rd|th)$", r"\1", _ORDINALS.get(token, _SAME.get(token, token)))
        tokens += re.findall(r"\d+|[a-z]+", token)
    words: list[str] = []
    for token in _numbers([t for t in tokens if t and t not in FILLERS]):
        words.extend(token if token.isdigit() else [token])
    joined: list[str] = []
    for word in words:
        spelled = len(word) == 1 and word.isalpha() and word not in ("a", "i")
        if spelled and joined and joined[-1].startswith("\x00"):
            joined[-1] += word
        else:
            joined.append("\x00" + word if spelled else word)
    return [word.lstrip("\x00") for word in joined]


def align(reference: list[str], hypothesis: list[str]) -> list[tuple[int, int]]:
    """The longest common subsequence of two word lists, as (reference index, hypothesis index) pairs."""
    rows, cols = len(reference), len(hypothesis)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            if reference[i] == hypothesis[j]:
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < rows and j < cols:
        if reference[i] == hypothesis[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


@dataclass
class AgentTurn:
    """What the agent made of one stretch of caller speech: the words it heard and its reply."""

    heard: str
    reply: str
    voice_to_voice_ms: float | None = None  # the agent's own turn record (speech end to its first audio)
    endpoint_wait_ms: float | None = None  # of which the end-of-turn silence waited
    stt_ms: float | None = None  # and Whisper (it overlaps the silence)


@dataclass
class Outcome:
    """One conversation on one channel: pass/fail with the first failure, and the corpus figures."""

    name: str
    channel: str
    failures: list[str] = field(default_factory=list)
    words_said: int = 0
    words_recalled: int = 0
    answered_twice: int = 0
    turns_to_booking: int | None = None
    voice_to_voice_ms: list[float] = field(default_factory=list)
    transcript: list[AgentTurn] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)  # typed: each turn's request to answer
    llm_turns: list[bool] = field(default_factory=list)  # typed: the LLM brain understood or wrote the turn
    fallbacks: int = 0  # typed: turns the offline brain answered because the LLM could not
    missed: dict[int, list[str]] = field(default_factory=dict)  # caller turn (0-based) -> its words not heard
    answers_prepared: int = 0  # replay: answers prepared in the end-of-turn silence and said
    prepared_unsaid: int = 0  # replay: ... and dropped unsaid because the caller went on

    @property
    def passed(self) -> bool:
        return not self.failures


def caller_turn_of_each_reply(conversation: Conversation, turns: list[AgentTurn]) -> list[int | None]:
    """For each agent turn, the caller turn (0-based) most of its recognised words came from, if any."""
    reference: list[tuple[str, int]] = [
        (word, index) for index, turn in enumerate(conversation.turns) for word in recall_words(turn.text)
    ]
    hypothesis: list[tuple[str, int]] = [
        (word, index) for index, turn in enumerate(turns) for word in recall_words(turn.heard)
    ]
    votes: list[dict[int, int]] = [{} for _ in turns]
    for ref, hyp in align([w for w, _ in reference], [w for w, _ in hypothesis]):
        ballot = votes[hypothesis[hyp][1]]
        ballot[reference[ref][1]] = ballot.get(reference[ref][1], 0) + 1
    return [max(ballot, key=lambda k: (ballot[k], -k)) if ballot else None for ballot in votes]


def score(conversation: Conversation, outcome: Outcome) -> None:
    """Fill in word recall, turns answered twice and turns to a booking from the outcome's transcript."""
    said_by_turn = [
        (index, word) for index, turn in enumerate(conversation.turns) for word in recall_words(turn.text)
    ]
    said = [word for _, word in said_by_turn]
    heard = [word for turn in outcome.transcript for word in recall_words(turn.heard)]
    recalled = {ref for ref, _ in align(said, heard)}
    outcome.words_said = len(said)
    outcome.words_recalled = len(recalled)
    outcome.missed = {}
    for position, (index, word) in enumerate(said_by_turn):
        if position not in recalled:
            outcome.missed.setdefault(index, []).append(word)
    owners = caller_turn_of_each_reply(conversation, outcome.transcript)
    replies_per_turn: dict[int, int] = {}
    for owner in owners:
        if owner is not None:
            replies_per_turn[owner] = replies_per_turn.get(owner, 0) + 1
    outcome.answered_twice = sum(1 for count in replies_per_turn.values() if count > 1)
    for index, (owner, turn) in enumerate(zip(owners, outcome.transcript, strict=True)):
        if any(phrase in turn.reply.lower() for phrase in CONFIRMED):
            outcome.turns_to_booking = (owner if owner is not None else index) + 1
            break


def end_state_failures(
    conversation: Conversation, everything_said: str, rows: list[dict[str, Any]] | None
) -> list[str]:
    """What differs from the expected end state: appointment rows (when given), phrases heard and not heard."""
    failures: list[str] = []
    if rows is not None:
        proxy = ScenarioResult(conversation.name)
        check_appointments({"appointments": list(conversation.appointments)}, rows, proxy)
        failures += proxy.failures
    said = everything_said.lower()
    for alternatives in conversation.heard:
        if not any(phrase.lower() in said for phrase in alternatives):
            failures.append(f"the agent never said {' or '.join(repr(p) for p in alternatives)}")
    for phrase in conversation.never_heard:
        if phrase.lower() in said:
            failures.append(f"the agent said {phrase!r}, which it must not")
    return failures


def corpus_failures(scenario: dict[str, Any], result: VoiceResult) -> list[str]:
    """The corpus expectations the replay's own judge does not check (phrases heard and not heard).

    The replay judges the appointment rows itself (the scenario's `expect`); a plain voice scenario gets [].
    """
    conversation = scenario.get("corpus")
    if not isinstance(conversation, Conversation):
        return []
    everything = " ".join([*(turn.agent_text for turn in result.turns), *result.notifications])
    return end_state_failures(conversation, everything, rows=None)
