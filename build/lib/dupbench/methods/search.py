"""Top-k search over all images at scale: every image a query, its k best others.

Methods declare how their batched representation can be searched (`index_kind`), never by name:
- "hamming": packed uint64 hashes -> faiss IndexBinaryFlat (exact Hamming, popcount);
- "cosine":  float rows -> normalised, faiss IndexFlatIP (exact inner product);
- "l2":      float rows -> faiss IndexFlatL2 (exact squared distances; square roots taken after);
- None:      the method's own score_matrix in row blocks, keeping each row's k best.
`brute_force_top_k` is the reference every index is tested against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dupbench.methods.base import Method, row_blocks
from dupbench.methods.gram import unit_rows


def _drop_self(indices: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From k+1 results per query, remove the query itself (or, where exact duplicates pushed it
    out of the list, the last one)."""
    n = len(indices)
    own = indices == np.arange(n)[:, None]
    keep = ~own
    missing = ~own.any(axis=1)
    keep[missing, -1] = False
    return indices[keep].reshape(n, k), scores[keep].reshape(n, k)


def brute_force_top_k(method: Method, prepared: Any, k: int, budget: int = 256 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best others by the method's own score_matrix, in row blocks (bounded memory)."""
    n = method.count(prepared)
    indices, scores = np.empty((n, k), dtype=np.int64), np.empty((n, k))
    for rows in row_blocks(n, n * 8 * 3, budget):
        block = method.score_matrix(method.subset(prepared, rows), prepared)
        key = -method.goodness(block)
        key[np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)] = np.inf  # never itself
        part = np.argpartition(key, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(key, part, axis=1).argsort(axis=1, kind="stable")
        indices[rows] = np.take_along_axis(part, order, axis=1)
        scores[rows] = np.take_along_axis(block, indices[rows], axis=1)
    return indices, scores


def faiss_top_k(kind: str, prepared: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    if kind == "hamming":
        codes = np.ascontiguousarray(prepared).view(np.uint8)
        index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
        index.add(codes)
        scores, indices = index.search(codes, k + 1)
        return _drop_self(indices, scores.astype(np.float64), k)
    vectors = np.ascontiguousarray(prepared, dtype=np.float32)
    if kind == "cosine":
        vectors = unit_rows(vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
    elif kind == "l2":
        index = faiss.IndexFlatL2(vectors.shape[1])
    else:
        raise ValueError(f"no faiss index for {kind!r}")
    index.add(vectors)
    scores, indices = index.search(vectors, k + 1)
    indices, scores = _drop_self(indices, scores.astype(np.float64), k)
    return indices, (np.sqrt(np.maximum(scores, 0)) if kind == "l2" else scores)


def top_k(method: Method, prepared: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores) of each image's k best others, through faiss where the method allows."""
    kind = method.index_kind
    return faiss_top_k(kind, prepared, k) if kind else brute_force_top_k(method, prepared, k)
