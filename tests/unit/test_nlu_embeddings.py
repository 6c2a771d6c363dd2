"""The bundled sentence encoder: shape, normalisation, meaning, determinism and thread safety."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from agent.dialog.nlu.embeddings import EMBEDDING_DIM, SentenceEncoder, load_sentence_encoder

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_sentence_encoder()


def test_factory_returns_one_shared_instance(encoder: SentenceEncoder) -> None:
    assert load_sentence_encoder() is encoder


def test_shape_and_unit_length(encoder: SentenceEncoder) -> None:
    vectors = encoder.encode(["what are your hours", "I need an oil change", ""])
    assert vectors.shape == (3, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert encoder.encode([]).shape == (0, EMBEDDING_DIM)


def test_paraphrases_are_closer_than_unrelated_sentences(encoder: SentenceEncoder) -> None:
    texts = ["what are your hours", "when are you open", "I want to buy a truck"]
    hours, open_, truck = encoder.encode(texts)
    assert float(hours @ open_) > float(hours @ truck) + 0.2


def test_batch_order_and_single_encoding_agree(encoder: SentenceEncoder) -> None:
    texts = ["a much longer sentence about booking a brake job next week", "hi", "tire rotation please"]
    batch = encoder.encode(texts)
    for text, row in zip(texts, batch, strict=True):
        np.testing.assert_allclose(encoder.encode_one(text), row, atol=1e-4)


def test_long_input_is_truncated_not_rejected(encoder: SentenceEncoder) -> None:
    assert encoder.encode(["word " * 5000]).shape == (1, EMBEDDING_DIM)


def test_rejects_a_bare_string(encoder: SentenceEncoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode("not a list")


def test_same_results_from_many_threads(encoder: SentenceEncoder) -> None:
    texts = [f"can I book an oil change for day {i}" for i in range(16)]
    expected = encoder.encode(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        rows = list(pool.map(lambda t: encoder.encode([t])[0], texts))
    np.testing.assert_allclose(np.stack(rows), expected, atol=1e-4)
