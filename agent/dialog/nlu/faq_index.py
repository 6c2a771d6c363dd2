"""Semantic search over the dealership's FAQ: embedded questions and keywords, boosted by keyword overlap."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from agent.dialog.nlu.embeddings import FloatArray, SentenceEncoder
from agent.store.models import FaqEntry

#: Below this score the dialog should say it does not know rather than read out the best entry.
#: Measured on the seed FAQ: paraphrases score 0.43-1.0, off-topic questions at most 0.39.
FAQ_MIN_SCORE = 0.42
_MAX_QUERY_CHARS = 600
_KEYWORD_BOOST = 0.12
_MAX_BOOST = 0.24
_KEYWORDS_ONLY_WEIGHT = 0.9  # a bag of keywords is a weaker match than a whole question
_STOP = {
    "a",
    "an",
    "the",
    "do",
    "you",
    "your",
    "is",
    "are",
    "i",
    "my",
    "me",
    "we",
    "to",
    "of",
    "for",
    "on",
    "in",
    "at",
    "can",
    "what",
    "how",
    "when",
    "where",
    "does",
    "have",
    "any",
    "it",
    "and",
    "or",
    "be",
    "there",
    "with",
    "if",
}


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP}


class FaqIndex:
    """Ranks FAQ entries against a caller's question; build once per FAQ list and share it.

    Each entry is embedded as its question, as question + keywords and as its keywords alone (weighted
    down); the best of the three counts. Keywords that the caller actually said add up to `_MAX_BOOST`,
    which rescues short, keyword-heavy questions ("financing?"). Answers are not embedded: they matched
    unrelated questions more often than they helped. Call `search` from a worker thread.
    """

    def __init__(self, encoder: SentenceEncoder, entries: Sequence[FaqEntry]) -> None:
        self._encoder = encoder
        self._entries = tuple(entries)
        if self._entries:
            self._questions: FloatArray = encoder.encode([e.question for e in self._entries])
            self._expanded: FloatArray = encoder.encode(
                [f"{e.question} {', '.join(e.keywords)}".strip() for e in self._entries]
            )
            self._keyword_vectors: FloatArray = encoder.encode([", ".join(e.keywords) for e in self._entries])
        self._keywords = [
            [(kw.lower(), _terms(kw)) for kw in e.keywords if _terms(kw)] for e in self._entries
        ]

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        return self._entries

    def _boosts(self, query: str) -> FloatArray:
        lowered = f" {' '.join(re.findall(r'[a-z0-9]+', query.lower()))} "
        query_terms = _terms(query)
        boosts = np.zeros(len(self._entries), dtype=np.float32)
        for row, keywords in enumerate(self._keywords):
            # A multi-word keyword ("car loan") is stronger evidence than a single word ("car").
            weight = sum(
                1 + 0.5 * (len(terms) - 1)
                for phrase, terms in keywords
                if f" {phrase} " in lowered or terms <= query_terms
            )
            boosts[row] = min(_MAX_BOOST, _KEYWORD_BOOST * weight)
        return boosts

    def search(self, query: str, k: int = 3) -> list[tuple[FaqEntry, float]]:
        """The `k` best entries with scores in 0..1, best first; compare the first score to FAQ_MIN_SCORE."""
        query = query.strip()[:_MAX_QUERY_CHARS]
        if not self._entries or not query or k <= 0 or not re.search(r"[A-Za-z0-9]", query):
            return []
        vector = self._encoder.encode_one(query)
        similarity = np.maximum.reduce(
            [
                self._questions @ vector,
                self._expanded @ vector,
                _KEYWORDS_ONLY_WEIGHT * (self._keyword_vectors @ vector),
            ]
        )
        scores = np.clip(similarity + self._boosts(query), 0.0, 1.0)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self._entries[i], float(scores[i])) for i in order]
