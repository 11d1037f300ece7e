"""Top-k search over all images at scale: every image a query, its k best others.

Methods declare how their batched representation can be searched (`index_kind`), never by name:
- "hamming": packed uint64 hashes -> faiss IndexBinaryFlat (exact Hamming, popcount);
- "cosine":  float rows -> normalised, faiss IndexFlatIP (exact inner product);
- "l2":      float rows -> faiss IndexFlatL2 (exact squared distances; square roots taken after);
- None:      the method's own score_matrix in row blocks, keeping each row's k best.
`brute_force_top_k` is the reference every index is tested against.

`top_k_within`: the k best others among those within a distance, for rules that link only pairs
within it (no background). Hamming codes are searched by radius (faiss range search, no k-heap, each
pair once: 1.7 s against 13 s for 100,000 pHashes; codes equal to the bit where the radius is zero),
which lists the same linked pairs as `top_k` does.
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
        indices[rows], scores[rows] = best_in_block(method, block, rows.start, k)
    return indices, scores


def top_k_of_matrix(
    method: Method, matrix: np.ndarray, k: int, budget: int = 256 << 20
) -> tuple[np.ndarray, np.ndarray]:
    """brute_force_top_k from all-pairs scores a caller already has (the field's matrix): a method
    without an index is not scored a second time (the article's uint8 Euclidean took minutes per half)."""
    n = len(matrix)
    indices, scores = np.empty((n, k), dtype=np.int64), np.empty((n, k))
    for rows in row_blocks(n, n * 8 * 3, budget):
        indices[rows], scores[rows] = best_in_block(method, matrix[rows], rows.start, k)
    return indices, scores


def best_in_block(method: Method, block: np.ndarray, first: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best columns, best first; row r of the block is image first + r (never its own best)."""
    key = -method.goodness(block)
    key[np.arange(len(block)), np.arange(first, first + len(block))] = np.inf
    part = np.argpartition(key, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(key, part, axis=1).argsort(axis=1, kind="stable")
    indices = np.take_along_axis(part, order, axis=1)
    return indices, np.take_along_axis(block, indices, axis=1)


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


def _padded(n: int, k: int, rows: np.ndarray, dist: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A range search's results (row, distance, other) as (n, k) arrays: each row's k nearest others by
    (distance, index), padded with index -1 and an infinite distance."""
    other = ids != rows
    rows, dist, ids = rows[other], dist[other], ids[other]
    order = np.lexsort((ids, dist, rows))
    rows, dist, ids = rows[order], dist[order], ids[order]
    position = np.arange(len(rows)) - np.searchsorted(rows, rows)  # rank within its row
    kept = position < k
    indices, scores = np.full((n, k), -1, dtype=np.int64), np.full((n, k), np.inf)
    indices[rows[kept], position[kept]] = ids[kept]
    scores[rows[kept], position[kept]] = dist[kept]
    return indices, scores


def _equal_codes(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Range-search results at distance zero, from sorting: each code's first k + 1 equals by index
    (itself among them), so a thousand identical images make n x (k + 1) results, not a million."""
    _, label = np.unique(codes, axis=0, return_inverse=True)
    label = label.reshape(-1)
    order = np.argsort(label, kind="stable")  # group by group (labels ascending), by index inside
    sizes = np.bincount(label)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    count = np.minimum(sizes[label], k + 1)
    lims = np.r_[0, np.cumsum(count)]
    offsets = np.arange(lims[-1]) - np.repeat(lims[:-1], count)
    ids = order[np.repeat(starts[label], count) + offsets]
    return lims, np.zeros(len(ids)), ids


def top_k_within(method: Method, prepared: Any, k: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best others among those that pass `radius` (a distance threshold); rows with fewer
    are padded (index -1, score the method's worst). The passing entries are `top_k`'s passing entries."""
    if method.index_kind != "hamming":
        indices, scores = top_k(method, prepared, k)
        beyond = ~method.passes(scores, radius)
        return np.where(beyond, -1, indices), np.where(beyond, method.worst_score(), scores)
    codes = np.ascontiguousarray(prepared).view(np.uint8)
    n = len(codes)
    if radius < 1:  # integer distances: only equal codes pass
        lims, dist, ids = _equal_codes(codes, k)
        rows = np.repeat(np.arange(n), np.diff(lims.astype(np.int64)))
    else:
        rows, dist, ids = _pairs_within(codes, int(np.floor(radius)) + 1)  # faiss keeps distance < radius
    return _padded(n, k, rows, dist.astype(np.float64), ids.astype(np.int64))


def _pairs_within(codes: np.ndarray, below: int, blocks: int = 8) -> tuple[np.ndarray, ...]:
    """Every pair of different codes at a Hamming distance below `below`, listed both ways (row, distance,
    other), each pair's popcount done once: the codes of one block are searched against their own
    block and those after it (0.56 of the n^2 a search of all against all does; 1.7 s against 3.4 s
    for 100,000 pHashes on two cores)."""
    import faiss

    n = len(codes)
    bounds = np.linspace(0, n, min(blocks, n) + 1).astype(np.int64)
    rows, others, distances = [], [], []
    for start, end in zip(bounds[:-1], bounds[1:]):
        if start == end:
            continue
        index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
        index.add(codes[start:])
        lims, dist, ids = index.range_search(codes[start:end], below)
        query = np.repeat(np.arange(start, end), np.diff(lims.astype(np.int64)))
        other = ids.astype(np.int64) + start
        later = other > query
        rows.append(query[later])
        others.append(other[later])
        distances.append(dist[later])
    a, b, d = (np.concatenate(parts) for parts in (rows, others, distances))
    return np.concatenate([a, b]), np.concatenate([d, d]), np.concatenate([b, a])
