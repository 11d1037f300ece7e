"""How good a finder's groups are, against the true groups (issue 21): not single pairs but what a
person sees, the groups.

- pairwise precision and recall of the groups: every pair of images inside one found group is a
  call, every pair inside one true group a duplicate;
- B-cubed precision, recall and F1 (Bagga and Baldwin 1998): per image, how much of its found group
  is of its true group and how much of its true group it was grouped with; images left alone count
  as their own group;
- images wrongly grouped: put in a group that holds none of their true group-mates (in a set of
  distinct images, every grouped image), also per 1,000 images;
- a bootstrap interval for the pairwise precision, resampling the found groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_PAIRS_FOR = {0.99: 300}  # the rule of three: 0 errors in n calls bound the error rate by 3/n (95 %)


def labels_of(groups: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """A cluster label per image: its group's number, or its own (-1 - i) when it is in none."""
    labels = -1 - np.arange(n)
    for number, members in enumerate(groups):
        labels[np.asarray(members, dtype=int)] = number
    return labels


def pairs_in(sizes: np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def group_scores(groups: Sequence[Sequence[int]], codes: np.ndarray) -> dict[str, float]:
    """Every figure above for `groups` (lists of image indices) against true group codes."""
    n = len(codes)
    found = labels_of(groups, n)
    _, found_ids = np.unique(found, return_inverse=True)
    _, true_ids = np.unique(codes, return_inverse=True)
    # The found x true contingency table, sparse: 8,000 singletons made a dense one of 500 MB.
    cell, overlap_of_cell = np.unique(found_ids * (int(true_ids.max()) + 1 if n else 1) + true_ids, return_inverse=True)
    joint = np.bincount(overlap_of_cell.reshape(-1), minlength=len(cell))
    found_sizes, true_sizes = np.bincount(found_ids), np.bincount(true_ids)
    both, called, real = pairs_in(joint), pairs_in(found_sizes), pairs_in(true_sizes)
    overlap = joint[overlap_of_cell.reshape(-1)]
    b_precision = float(np.mean(overlap / found_sizes[found_ids])) if n else np.nan
    b_recall = float(np.mean(overlap / true_sizes[true_ids])) if n else np.nan
    grouped = found >= 0
    wrong = grouped & (overlap == 1)  # in a group, but no true mate in it
    return {
        "pairs_found": called,
        "true_pairs": real,
        "true_found": both,
        "precision": both / called if called else np.nan,
        "recall": both / real if real else np.nan,
        "bcubed_precision": b_precision,
        "bcubed_recall": b_recall,
        "bcubed_f1": 2 * b_precision * b_recall / (b_precision + b_recall) if n else np.nan,
        "groups_found": len(groups),
        "images_grouped": int(grouped.sum()),
        "images_wrongly_grouped": int(wrong.sum()),
        "wrong_per_1000": 1000.0 * wrong.sum() / n if n else np.nan,
    }


def bootstrap_precision(
    groups: Sequence[Sequence[int]], codes: np.ndarray, rounds: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """A percentile interval for pairwise precision, resampling the found groups with replacement."""
    if not groups:
        return np.nan, np.nan
    calls = np.array([len(g) * (len(g) - 1) // 2 for g in groups], dtype=float)
    hits = np.array([pairs_in(np.unique(codes[np.asarray(g)], return_counts=True)[1]) for g in groups], dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(groups), size=(rounds, len(groups)))
    values = hits[picks].sum(axis=1) / np.maximum(calls[picks].sum(axis=1), 1)
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def supports(pairs_found: int, precision: float = 0.99) -> bool:
    """Whether a calibration half found enough pairs for `precision` to be shown at all (95 %)."""
    return pairs_found >= MIN_PAIRS_FOR.get(precision, int(np.ceil(3 / (1 - precision))))
