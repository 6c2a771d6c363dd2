"""Intent of one caller utterance: kNN over embedded example phrases plus high-precision keyword rules."""

from __future__ import annotations

import re
from typing import Literal, get_args

import numpy as np

from agent.dialog.nlu.confirmations import parse_yes_no
from agent.dialog.nlu.contacts import parse_email, parse_phone
from agent.dialog.nlu.embeddings import FloatArray, SentenceEncoder
from agent.dialog.nlu.intent_exemplars import EXEMPLARS

Intent = Literal[
    "greeting",
    "faq",
    "inventory",
    "book_service",
    "book_test_drive",
    "cancel",
    "reschedule",
    "escalation",
    "affirm",
    "deny",
    "provide_info",
    "goodbye",
    "thanks",
    "unknown",
    "repeat",
    "hold",
]
INTENTS: tuple[Intent, ...] = get_args(Intent)
# Conversation moves found by rules before any brain is asked ("can you repeat that?", "um, and"): no model
# or example phrase ever produces them.
RULE_ONLY_INTENTS: frozenset[Intent] = frozenset({"repeat", "hold"})

_MAX_CHARS = 600
_TOP_K = 3
_TOP1_WEIGHT = 0.3  # an intent with one very close example should not lose to three loose ones
_TEMPERATURE = 0.04
_MIN_SIMILARITY = 0.42  # below this nothing we know is close: "unknown"
_FILLERS = re.compile(
    r"^(?:(?:hi|hello|hey|yeah|yes|yep|okay|ok|so|um+|uh+|well|oh|alright|hi there|hello there|good morning"
    r"|good afternoon|good evening|and|also|actually)\b[\s,.!]*)+"
)
_QUESTION = (
    r"^(?:how much|how long|how many|what|what's|whats|when|where|why|which|do you|does|is there|are)\b"
)

# (intent, pattern, confidence); the first matching rule wins, so the order encodes precedence.
_RULES: tuple[tuple[Intent, re.Pattern[str], float], ...] = (
    (
        "escalation",
        re.compile(
            r"\b(speak|talk|chat)(ing)? (to|with) (a |an |the |your |some |real |live |actual )*"
            r"(human|person|manager|representative|rep|someone|somebody|agent|supervisor|sales ?person|advisor"
            r"|employee|staff)\b|\boperator\b|\brepresentative\b|\b(transfer|connect|put) me\b"
            r"|\b(real|live|actual) (person|human|agent)\b|\bhuman being\b|\bnot a (robot|machine|bot)\b"
            r"|\bget me (a |an )?(human|person|manager|someone)\b"
        ),
        0.95,
    ),
    (
        "cancel",
        re.compile(
            r"\bcancel(l?ing)?\b(?! ?(fee|policy|lation))"
            r"|\bcall off\b|\bwon't be (able to )?(make it|coming)\b"
        ),
        0.92,
    ),
    (
        "reschedule",
        re.compile(
            r"\bre-? ?schedul\w*|\b(move|push|change|switch|shift|bump)( back)? (my|the|our|this) "
            r"(appointment|booking|test drive|service|oil change|reservation|time|date|visit)\b"
            r"|\b(different|another) (day|time|date)\b"
        ),
        0.92,
    ),
    (
        "book_test_drive",
        re.compile(r"\btest[\s-]?driv\w*|\btake (it|her|the \w+( \w+)?) (out )?for a (spin|drive|test)\b"),
        0.92,
    ),
    (
        "book_service",
        re.compile(
            r"\boil changes?\b|\b(tire|tyre) rotation\b|\brotate (my |the )?(tires|tyres)\b|\bcheck engine\b"
            r"|\bbrake(s| pads?| job| work| check| inspection)\b|\balignment\b|\btune[\s-]?up\b"
            r"|\bservice appointment\b|\bengine light\b|\bfit (me|us|it|her|him|my car|the car) in\b"
            r"|\b(blowing|blows) (warm|hot)\b|\bwon'?t start\b|\bmaintenance\b|\bget (my|the) (car|truck|vehicle)"
            r" (serviced|fixed|looked at|checked)\b"
        ),
        0.9,
    ),
    (
        "provide_info",
        re.compile(r"\b(my|the) (name|number|phone number|email|e-mail) is\b|\bmy name's\b"),
        0.9,
    ),
)
_NEGATED_CANCEL = re.compile(r"\b(don'?t|do not|not|never|no need to)( \w+){0,3} cancel")
# A service question with one of these is a booking request ("do you have time for an oil change tomorrow").
_BOOKING_VERB = re.compile(
    r"\b(can i|could i|i need|i want|i'd like|book|schedule|get me|set up|bring|fit me in|have time"
    r"|availab\w*|appointment|opening|slot|today|tomorrow|this week|next week|monday|tuesday|wednesday"
    r"|thursday|friday|saturday)\b"
)


def _normalise(text: str) -> str:
    lowered = text.lower().replace("’", "'")[:_MAX_CHARS]
    lowered = re.sub(r"[^a-z0-9@.'\s-]+", " ", lowered)
    return re.sub(r"\s+", " ", lowered).strip(" .-")


class IntentClassifier:
    """Classifies one utterance into an `Intent` with a confidence in 0..1.

    Example phrases are embedded once; an utterance scores each intent by the mean cosine of its
    `_TOP_K` nearest examples, and a softmax over those scores gives the confidence. Keyword rules
    for unambiguous cues ("speak to a human", "cancel my appointment", "oil change") override with
    0.9+. Dialog context (a pending yes/no question) is applied by the caller, not here.
    """

    def __init__(self, encoder: SentenceEncoder) -> None:
        self._encoder = encoder
        labels: list[int] = []
        phrases: list[str] = []
        self._intents: tuple[Intent, ...] = tuple(i for i in INTENTS if i in EXEMPLARS)
        for index, intent in enumerate(self._intents):
            for phrase in EXEMPLARS[intent]:
                phrases.append(phrase)
                labels.append(index)
        self._matrix: FloatArray = encoder.encode(phrases)
        self._labels = np.asarray(labels)
        self._masks = [self._labels == i for i in range(len(self._intents))]

    def scores(self, text: str) -> dict[Intent, float]:
        """Per-intent kNN similarity (best cosine blended with the mean of the top k) of an utterance."""
        vector = self._encoder.encode_one(text)
        sims = self._matrix @ vector
        result: dict[Intent, float] = {}
        for intent, mask in zip(self._intents, self._masks, strict=True):
            top = np.sort(sims[mask])[-_TOP_K:]
            result[intent] = float(_TOP1_WEIGHT * top[-1] + (1 - _TOP1_WEIGHT) * top.mean())
        return result

    def _by_rules(self, norm: str) -> tuple[Intent, float] | None:
        for intent, pattern, confidence in _RULES:
            if not pattern.search(norm):
                continue
            if intent == "cancel" and _NEGATED_CANCEL.search(norm):
                continue  # "I don't want to cancel" leaves it to the examples
            if intent == "book_service" and re.match(_QUESTION, norm) and not _BOOKING_VERB.search(norm):
                return "faq", 0.85  # "how much is an oil change" is a question, not a booking
            return intent, confidence
        if parse_phone(norm) is not None or parse_email(norm) is not None:
            return "provide_info", 0.9
        return None

    def classify(self, text: str) -> tuple[Intent, float]:
        """The most likely intent of `text` with a confidence in 0..1 (low-confidence "unknown" if unsure)."""
        norm = _normalise(text if isinstance(text, str) else "")
        if not re.search(r"[a-z0-9]", norm):
            return "unknown", 0.0
        ruled = self._by_rules(norm)
        if ruled is not None:
            return ruled
        core = _FILLERS.sub("", norm).strip() or norm
        scores = self.scores(core)
        names = list(scores)
        values = np.array([scores[n] for n in names], dtype=np.float64)
        exp = np.exp((values - values.max()) / _TEMPERATURE)
        probs = exp / exp.sum()
        best = int(values.argmax())
        intent, similarity = names[best], float(values[best])
        # A crisp low-similarity factor keeps confidence honest for utterances far from every example.
        confidence = float(probs[best]) * min(1.0, max(0.0, (similarity - 0.25) / 0.35))
        words = len(norm.split())
        yes_no = parse_yes_no(norm) if words <= 6 else None
        short_answer = words <= 3 and intent not in ("thanks", "goodbye", "greeting")
        if yes_no is not None and (intent in ("affirm", "deny", "unknown") or short_answer):
            return ("affirm" if yes_no == "yes" else "deny"), round(max(0.85, confidence), 4)
        if intent == "unknown" or similarity < _MIN_SIMILARITY:
            return "unknown", round(min(confidence, 0.3) if intent != "unknown" else confidence * 0.5, 4)
        return intent, round(confidence, 4)
