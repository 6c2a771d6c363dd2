"""FAQ retrieval: paraphrased questions find the right entry; unrelated ones stay below the threshold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.dialog.nlu.embeddings import load_sentence_encoder
from agent.dialog.nlu.faq_index import FAQ_MIN_SCORE, FaqIndex
from agent.store.models import FaqEntry

pytestmark = pytest.mark.unit

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "dealership.yaml"

ENTRIES = [
    FaqEntry(
        1,
        "hours",
        "What are your hours?",
        "Monday to Friday 9 to 8, Saturday 9 to 6.",
        ("hours", "open", "close", "what time"),
    ),
    FaqEntry(
        2,
        "location",
        "Where are you located?",
        "1800 Riverside Parkway.",
        ("address", "location", "where", "directions", "find you"),
    ),
    FaqEntry(
        3,
        "sales",
        "Do you offer financing?",
        "Yes, through several banks.",
        ("financing", "finance", "loan", "car loan", "monthly payment", "credit"),
    ),
    FaqEntry(
        4,
        "sales",
        "Do you take trade-ins?",
        "Yes, we appraise any car.",
        ("trade in", "trade-in", "sell my car", "buy my car", "what's my car worth", "appraisal"),
    ),
    FaqEntry(
        5,
        "service",
        "How much is an oil change?",
        "Between 49 and 89 dollars.",
        ("oil change", "price", "cost"),
    ),
    FaqEntry(
        6,
        "service",
        "Do you offer loaner cars?",
        "Yes, for longer repairs.",
        ("loaner", "rental", "courtesy car"),
    ),
    FaqEntry(
        7,
        "general",
        "What payment methods do you accept?",
        "Cash, cards and Apple Pay.",
        ("payment", "credit card", "cash", "apple pay"),
    ),
    FaqEntry(
        8,
        "general",
        "Do you have EV charging?",
        "Two free level 2 chargers.",
        ("ev", "electric", "charging", "charger"),
    ),
]

# Keywords matter: MiniLM alone puts "car loan" next to "loaner cars"; FAQ authors list such words.
PARAPHRASES = [
    ("when do you guys open", 1),
    ("what time do you close tonight", 1),
    ("what's your address", 2),
    ("how do I find the dealership", 2),
    ("can I get a car loan through you", 3),
    ("will you buy my old car", 4),
    ("how much do you charge for an oil change", 5),
    ("can I get a rental while my car is being fixed", 6),
    ("do you take credit cards", 7),
    ("is there somewhere to charge my electric car", 8),
]


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex(load_sentence_encoder(), ENTRIES)


@pytest.mark.parametrize(("query", "entry_id"), PARAPHRASES)
def test_paraphrase_finds_the_entry(index: FaqIndex, query: str, entry_id: int) -> None:
    results = index.search(query, k=3)
    assert len(results) == 3
    best, score = results[0]
    assert best.id == entry_id, [(e.question, round(s, 2)) for e, s in results]
    assert score >= FAQ_MIN_SCORE
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)


@pytest.mark.parametrize(
    "query",
    ["what's the weather tomorrow", "tell me a joke", "who won the game", "blah blah", "my name is John"],
)
def test_unrelated_questions_score_below_threshold(index: FaqIndex, query: str) -> None:
    _, score = index.search(query, k=1)[0]
    assert score < FAQ_MIN_SCORE


def test_empty_inputs(index: FaqIndex) -> None:
    assert index.search("") == []
    assert index.search("?!") == []
    assert index.search("hours", k=0) == []
    assert FaqIndex(load_sentence_encoder(), []).search("what are your hours") == []


def test_keyword_overlap_boosts_short_queries(index: FaqIndex) -> None:
    best, score = index.search("financing?", k=1)[0]
    assert best.id == 3
    assert score >= FAQ_MIN_SCORE


@pytest.mark.skipif(not SEED.exists(), reason="seed data not present")
def test_seed_faq_paraphrases() -> None:
    rows = yaml.safe_load(SEED.read_text())["faq"]
    entries = [
        FaqEntry(i, r["category"], r["question"], r["answer"], tuple(r.get("keywords", ())))
        for i, r in enumerate(rows, start=1)
    ]
    seed_index = FaqIndex(load_sentence_encoder(), entries)
    questions = {e.question for e in entries}
    cases = [
        ("when does the service department open", "service department"),
        ("are you open on christmas", "holidays"),
        ("do you guys do leasing", "leases"),
        ("is there a fee if I cancel", "cancellation"),
        ("where do I park", "park"),
    ]
    for query, fragment in cases:
        best, score = seed_index.search(query, k=1)[0]
        assert fragment in best.question.lower(), (query, best.question, sorted(questions))
        assert score >= FAQ_MIN_SCORE
