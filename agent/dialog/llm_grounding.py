"""Checks that a language model's free-text answer rests on the dealership's facts before a caller hears it."""

from __future__ import annotations

import re
from typing import Final


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_NUMBER: Final = re.compile(r"\d[\d,]*(?::\d\d)?(?:\.\d+)?")
_WORD: Final = re.compile(r"[a-z]+")
# Makes a caller may ask about: one named in an answer must be one the facts name (the lot's own makes).
CAR_MAKES: Final = _word_set(
    "acura audi bmw buick cadillac chevrolet chevy chrysler dodge ferrari fiat ford genesis gmc honda "
    "hyundai infiniti jaguar jeep kia lamborghini lexus lincoln maserati mazda mercedes mini mitsubishi "
    "nissan porsche ram rivian subaru tesla toyota volkswagen volvo"
)
_STOPWORDS: Final = _word_set(
    "the and for with you your our are can from that this there have has was were will would what when where "
    "which who how about into just only also than then they them their its it's i'm we're you're don't "
    "yes not but all any some one two more most very much many here does did doing been being"
)
# Words any answer may use about the facts without them being facts ("it usually costs ...").
_ANSWER_WORDS: Final = _word_set(
    "cost costs take takes usually typically around between open opens closed offer offers available sell "
    "sells have welcome sure please call currently today tomorrow dollars cents minutes hours"
)
FACT_MATCH: Final = 0.8  # the share of a quoted fact's content words that one fact line must hold


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def _stem(word: str) -> str:
    """Enough of a word to match its other forms ("closes", "closed", "close")."""
    return word[:5]


def content_words(text: str) -> set[str]:
    """Words that carry meaning (four letters or more, not a stopword), lower case."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 4 and w not in _STOPWORDS}


def invents_nothing(reply: str, facts: str) -> bool:
    """Every number in the reply (a price, a year, a time) and every car make it names are in the facts."""
    makes = {word for word in _WORD.findall(reply.lower()) if word in CAR_MAKES}
    return _numbers(reply) <= _numbers(facts) and makes <= set(_WORD.findall(facts.lower()))


def supporting_line(fact: str, facts: str) -> str | None:
    """The one line of the facts that the model's quoted fact comes from, or None when it made it up."""
    quoted = content_words(fact)
    if not quoted:
        return None
    for line in facts.splitlines():
        if len(quoted & content_words(line)) >= FACT_MATCH * len(quoted):
            return line
    return None


def grounded(question: str, fact: str, reply: str, facts: str) -> str | None:
    """Why the answer may not be said (None when it may): its fact must be a real line of the facts that
    shares a word with the question, and the reply may name no number, make or word that neither holds."""
    line = supporting_line(fact, facts)
    if line is None:
        return "fact_not_found"
    asked = content_words(question)
    if not asked & content_words(line):
        return "fact_off_topic"
    if not invents_nothing(reply, facts):
        return "unsupported_figure"
    known = {_stem(word) for word in content_words(facts) | asked | _ANSWER_WORDS}
    if any(_stem(word) not in known for word in content_words(reply)):
        return "unsupported_words"
    return None
