"""Top-k search over all images at scale: every image a query, its k best others.

Methods declare how their batched representation can be searched (`index_kind`), never by name. Every
kind is one exact flat search: a float32 matrix product of row blocks against all rows (numpy's BLAS),
then each row's k best by partition:
- "cosine":  float rows, normalised: inner products;
- "l2":      float rows: squared distances from the products (square roots taken after);
- "hamming": packed hashes unpacked to +-1 rows: a product p of two b-bit codes is b - 2 x their Hamming
             distance, exact in float32 (integers up to 1,024 bits);
- None:      the method's own score_matrix in row blocks, keeping each row's k best.
`brute_force_top_k` is the reference every kind is tested against.

Why not faiss, which did this before (issue 39): the flat indexes are this same product, and faiss-cpu
brings a second OpenBLAS; its 66 MiB are what let OpenCV, the verification's, into the plain install
within issue 40's 500 MB. What it costs, on this machine's two cores (10,000 rows, top 10): SSCD's 512
floats 1.0 s against faiss's 0.5 s; PDQ's 256 bits 0.65 s against 0.11 s; at 40,000 rows 15 s against
6.7 s and 12 s against 1.3 s, a few per cent of the images' decoding at either size. The radius search of
hashes pays most: 30,000 PDQs within 32 bits 2.5 s against faiss's 0.3 s (its popcounts against 256 products
a pair), 30,000 pHashes within 10 bits 1.7 s against 0.1 s; at 100,000 about 11 times that, against
`dupbench find --method pdq`'s 16 s whole run with faiss (find-scale, 791c71e).

`top_k_within`: the k best others among those within a distance, for rules that link only pairs
within it (no background). Hamming codes are searched by radius (each pair once, no k best to keep;
codes equal to the bit found by sorting where the radius is zero), which lists the same linked pairs as
`top_k` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dupbench.methods.base import Method, row_blocks
from dupbench.methods.gram import unit_rows


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


def _searchable(kind: str, prepared: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float]:
    """(float32 rows, their squared norms for "l2", the Hamming width for "hamming") of one flat search."""
    if kind == "hamming":
        packed = np.ascontiguousarray(prepared).view(np.uint8).reshape(len(prepared), -1)
        bits = np.unpackbits(packed, axis=1)
        return bits.astype(np.float32) * 2 - 1, None, float(bits.shape[1])
    vectors = np.ascontiguousarray(prepared, dtype=np.float32)
    if kind == "cosine":
        return unit_rows(vectors), None, 0.0
    if kind == "l2":
        return vectors, np.einsum("ij,ij->i", vectors, vectors), 0.0
    raise ValueError(f"no flat search for {kind!r}")


def _lowest(key: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k lowest columns by (key, column): among equal keys the lower index first, as the
    radius search orders them, so a thousand equal hashes link the same pairs either way."""
    part = np.argpartition(key, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(key, part, axis=1).max(axis=1)
    tied = np.flatnonzero((key <= kth[:, None]).sum(axis=1) > k)  # ties across the k-th: which ones kept?
    if len(tied):
        sub = key[tied]
        row, column = np.nonzero(sub <= kth[tied, None])
        order = np.lexsort((column, sub[row, column], row))
        row, column = row[order], column[order]
        rank = np.arange(len(row)) - np.searchsorted(row, row)
        part[tied] = column[rank < k].reshape(len(tied), k)
    best = np.take_along_axis(key, part, axis=1)
    order = np.lexsort((part, best), axis=-1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(best, order, axis=1)


def flat_top_k(kind: str, prepared: np.ndarray, k: int, budget: int = 64 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best others by an exact flat search (see the module's docstring), in row blocks."""
    vectors, norms, width = _searchable(kind, prepared)
    n = len(vectors)
    indices, scores = np.empty((n, k), dtype=np.int64), np.empty((n, k))
    for rows in row_blocks(n, n * (4 + 8), budget):
        key = vectors[rows] @ vectors.T
        if kind == "hamming":
            key *= -0.5
            key += width / 2
        elif kind == "l2":
            key *= -2
            key += norms[rows, None]
            key += norms[None, :]
        else:
            np.negative(key, out=key)
        key[np.arange(len(key)), np.arange(rows.start, rows.stop)] = np.inf
        indices[rows], best = _lowest(key, k)
        best = best.astype(np.float64)
        scores[rows] = -best if kind == "cosine" else np.sqrt(np.maximum(best, 0)) if kind == "l2" else best
    return indices, scores


def top_k(method: Method, prepared: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores) of each image's k best others, by a flat search where the method allows."""
    kind = method.index_kind
    return flat_top_k(kind, prepared, k) if kind else brute_force_top_k(method, prepared, k)


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
        rows, dist, ids = _pairs_within(prepared, np.floor(radius))
    return _padded(n, k, rows, dist.astype(np.float64), ids.astype(np.int64))


def _pairs_within(prepared: np.ndarray, radius: float, budget: int = 64 << 20) -> tuple[np.ndarray, ...]:
    """Every pair of different codes at a Hamming distance of at most `radius`, listed both ways (row,
    distance, other), each pair's distance computed once: a block of rows against itself and the rows
    after it (half the products of a search of all against all)."""
    vectors, _, width = _searchable("hamming", prepared)
    n = len(vectors)
    rows, others, distances = [], [], []
    least = width - 2 * radius - 0.5  # a product p is width - 2 x the distance: within radius where p >= this
    for block in row_blocks(n, n * (4 + 1), budget):
        product = vectors[block] @ vectors[block.start :].T
        query, other = np.nonzero(product >= least)
        later = other > query  # each pair once, never an image with itself
        query, other = query[later], other[later]
        rows.append(query + block.start)
        others.append(other + block.start)
        distances.append((width - product[query, other]) / 2)
    a, b, d = (np.concatenate(parts) for parts in (rows, others, distances))
    return np.concatenate([a, b]), np.concatenate([d, d]), np.concatenate([b, a])
