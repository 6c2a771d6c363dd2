"""Intent classification on held-out utterances (none of them is an example phrase of the classifier)."""

from __future__ import annotations

import pytest

from agent.dialog.nlu.embeddings import load_sentence_encoder
from agent.dialog.nlu.intent_exemplars import EXEMPLARS
from agent.dialog.nlu.intents import INTENTS, RULE_ONLY_INTENTS, IntentClassifier

pytestmark = pytest.mark.unit

HELD_OUT: list[tuple[str, str]] = [
    ("hey there good morning", "greeting"),
    ("hello yes hi", "greeting"),
    ("hi is this the dealership", "greeting"),
    ("what time do you guys open tomorrow", "faq"),
    ("are you open on weekends", "faq"),
    ("where's the dealership", "faq"),
    ("do you guys do financing", "faq"),
    ("how much does a tire rotation cost", "faq"),
    ("do you accept credit cards", "faq"),
    ("can i trade in my old car", "faq"),
    ("do you have any used toyotas", "inventory"),
    ("i'm looking for an suv under thirty thousand", "inventory"),
    ("is the blue civic still on the lot", "inventory"),
    ("what trucks do you have", "inventory"),
    ("do you have a 2023 highlander in white", "inventory"),
    ("any good deals on sedans right now", "inventory"),
    ("i need to bring my car in for an oil change", "book_service"),
    ("my brakes are grinding", "book_service"),
    ("the check engine light came on this morning", "book_service"),
    ("can you guys fix a flat tire", "book_service"),
    ("i want to schedule maintenance", "book_service"),
    ("my car is overheating", "book_service"),
    ("i'd like to take the camry for a test drive", "book_test_drive"),
    ("can i come drive the tacoma tomorrow", "book_test_drive"),
    ("i wanna test drive that jeep", "book_test_drive"),
    ("i want to see the rav4 in person and drive it", "book_test_drive"),
    ("i need to cancel my appointment for thursday", "cancel"),
    ("please cancel it", "cancel"),
    ("i can't come in anymore so cancel my booking", "cancel"),
    ("can i reschedule my oil change", "reschedule"),
    ("i need to move my appointment to next week", "reschedule"),
    ("could we do a different day instead", "reschedule"),
    ("let me talk to a real person", "escalation"),
    ("can i speak with someone please", "escalation"),
    ("get me your manager", "escalation"),
    ("operator operator", "escalation"),
    ("yes that's correct", "affirm"),
    ("yeah sure", "affirm"),
    ("yep sounds good", "affirm"),
    ("that works for me", "affirm"),
    ("no that's the wrong day", "deny"),
    ("nope not that", "deny"),
    ("no i don't want that", "deny"),
    ("my name is david lee", "provide_info"),
    ("it's 555 234 9876", "provide_info"),
    ("my email is dave at outlook dot com", "provide_info"),
    ("how about wednesday at two", "provide_info"),
    ("it's a 2017 ford escape", "provide_info"),
    ("okay bye now", "goodbye"),
    ("that's everything thanks bye", "goodbye"),
    ("have a great day", "goodbye"),
    ("thank you so much for the help", "thanks"),
    ("thanks i appreciate that", "thanks"),
    ("great thanks a lot", "thanks"),
    ("what's the score of the football game", "unknown"),
    ("blorp zazzle fnord", "unknown"),
    ("can you tell me a story", "unknown"),
    ("", "unknown"),
]


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier(load_sentence_encoder())


def test_held_out_set_is_really_held_out() -> None:
    examples = {p for phrases in EXEMPLARS.values() for p in phrases}
    assert len(HELD_OUT) >= 40
    assert not [text for text, _ in HELD_OUT if text in examples]
    assert {intent for _, intent in HELD_OUT} == set(INTENTS) - RULE_ONLY_INTENTS


def test_held_out_accuracy(classifier: IntentClassifier) -> None:
    wrong = []
    for text, expected in HELD_OUT:
        got, confidence = classifier.classify(text)
        assert 0.0 <= confidence <= 1.0
        if got != expected:
            wrong.append(f"{text!r}: expected {expected}, got {got} ({confidence:.2f})")
    accuracy = 1 - len(wrong) / len(HELD_OUT)
    assert accuracy >= 0.9, f"accuracy {accuracy:.2%}; misclassified:\n" + "\n".join(wrong)


def test_every_intent_has_enough_examples() -> None:
    for intent in set(INTENTS) - RULE_ONLY_INTENTS:
        assert len(EXEMPLARS[intent]) >= 20, intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to speak to a human", "escalation"),
        ("can I talk to your manager please", "escalation"),
        ("operator", "escalation"),
        ("cancel my appointment", "cancel"),
        ("I need to reschedule my oil change", "reschedule"),
        ("can I move my appointment to Friday", "reschedule"),
        ("yes I'd like to book a test drive", "book_test_drive"),
        ("hi, I need an oil change tomorrow", "book_service"),
        ("how much is an oil change", "faq"),
        ("my number is 555 014 2233", "provide_info"),
        ("john dot smith at gmail dot com", "provide_info"),
    ],
)
def test_high_precision_cues(classifier: IntentClassifier, text: str, expected: str) -> None:
    intent, confidence = classifier.classify(text)
    assert intent == expected
    assert confidence >= 0.85


@pytest.mark.parametrize(
    "text", ["", "   ", "!!!", "asdkjh qwepoi zxcmnb", "\x00\x01", "🚗🚗", "x" * 100_000]
)
def test_empty_and_garbage_input_is_unknown_with_low_confidence(
    classifier: IntentClassifier, text: str
) -> None:
    intent, confidence = classifier.classify(text)
    assert intent == "unknown"
    assert confidence < 0.5


def test_very_long_input_is_truncated(classifier: IntentClassifier) -> None:
    intent, _ = classifier.classify("I need to cancel my appointment " + "and more words " * 10_000)
    assert intent == "cancel"


def test_confidence_is_higher_for_clear_utterances(classifier: IntentClassifier) -> None:
    _, clear = classifier.classify("thank you so much")
    _, vague = classifier.classify("hmm let me think")
    assert clear > vague
