"""The article's retrieval protocol and its accuracy, as pure functions of a score matrix.

Article (../shared/docs/article.md, "The exact protocol"): references are columns, all images are
rows; every (image, reference) pair but an image with itself is scored; for each reference the k
best rows are retrieved; accuracy = hits / (rows - references) x 100.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dupbench.methods.base import Method


def article_pairs(n_images: int, references: Sequence[int]) -> list[tuple[int, int]]:
    """(row, reference) for every image and reference but the image with itself."""
    return [(row, ref) for ref in references for row in range(n_images) if row != ref]


def spread_sample(pairs: Sequence[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    """At most n of the protocol's pairs, evenly spread over it (every reference and row kind)."""
    picks = np.linspace(0, len(pairs) - 1, min(n, len(pairs))).round().astype(int)
    return [pairs[i] for i in picks]


def top_k(method: Method, scores: np.ndarray, exclude: int, k: int) -> np.ndarray:
    """The k best indices of one column of scores, never the query itself."""
    column = np.array(scores, dtype=np.float64, copy=True)
    column[exclude] = method.worst_score()
    return method.order(column)[:k]


def article_accuracy(
    method: Method, columns: np.ndarray, groups: Sequence[str], references: Sequence[int], k: int = 3
) -> tuple[float, list[np.ndarray]]:
    """The article's accuracy (%) and each reference's retrieved rows. columns: (n_images, n_refs)."""
    retrieved = [top_k(method, columns[:, c], ref, k) for c, ref in enumerate(references)]
    hits = sum(int(sum(groups[i] == groups[ref] for i in got)) for got, ref in zip(retrieved, references))
    return 100.0 * hits / (len(groups) - len(references)), retrieved


def all_queries_recall(
    method: Method, matrix: np.ndarray, groups: Sequence[str], k: int = 3
) -> tuple[float, list[np.ndarray]]:
    """Every image a query against all others: mean recall@k x 100 (queries with no duplicate skipped)."""
    groups_arr = np.asarray(groups)
    recalls, retrieved = [], []
    for q in range(len(groups)):
        got = top_k(method, matrix[q], q, k)
        retrieved.append(got)
        relevant = int((groups_arr == groups_arr[q]).sum()) - 1
        if relevant:
            recalls.append((groups_arr[got] == groups_arr[q]).sum() / min(k, relevant))
    return (100.0 * float(np.mean(recalls)) if recalls else float("nan")), retrieved
