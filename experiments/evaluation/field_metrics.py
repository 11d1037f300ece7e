"""The field benchmark's figures, from one all-pairs score matrix (issue 15).

Ranking (each image with at least one group-mate queries all others, itself left out):
- N-S score (UKBench's): 1 + the group-mates among the query's 3 best matches, the image itself
  counted as its own first match (max 4);
- mAP over those queries; top-1: the best match is a group-mate.
Pairs (each unordered pair once; both orders for a method that is not symmetric): micro average
precision over all pairs (DISC21's micro-AP), ROC AUC, recall at precision 0.99 and 0.999.
Thresholds: calibrated on one half of the groups (best F1, and the loosest reaching 99 %
precision), scored on the other half (pairs inside it): pairs found, precision, recall; a
method's shipped default threshold is scored the same way and on all pairs.
Memory: no n^2 index arrays (pairs are taken through a boolean mask; rankings in row blocks).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dupbench.methods.base import Method, row_blocks
from experiments.evaluation.metrics import duplicate_mask, pair_classification

PRECISIONS = (0.99, 0.999)


def group_codes(groups: Sequence[str]) -> np.ndarray:
    return np.unique(np.asarray(groups), return_inverse=True)[1]


def ranking(method: Method, matrix: np.ndarray, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Per query image: N-S score, average precision, top-1 hit; NaN for an image without group-mates.
    The matrix's diagonal is overwritten (the image itself never retrieves itself). Only the ranks of
    each query's group-mates are needed: each is counted (the images scored better, and the equal
    ones before it: a stable order), not found by sorting the whole row (6 s of 8,000 images)."""
    n = len(codes)
    np.fill_diagonal(matrix, method.worst_score())
    key = -method.goodness(matrix)
    order = np.argsort(codes, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(codes))]
    mates = np.bincount(codes)[codes] - 1
    ns, ap, top1 = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    width = int(mates.max()) if n else 0
    if not width:
        return {"ns": ns, "ap": ap, "top1": top1}
    columns = np.arange(n)
    for rows in row_blocks(n, n * (width + 1) * 2 + n * 8, budget=128 << 20):
        index = np.arange(rows.start, rows.stop)
        # Each query's group-mates (itself left out), padded to the widest group with the query itself.
        slots = starts[codes[index]][:, None] + np.arange(width + 1)
        members = np.where(slots < starts[codes[index] + 1][:, None], order[np.minimum(slots, n - 1)], -1)
        members = members[members != index[:, None]].reshape(len(index), width)  # drop the query itself
        present = members >= 0
        members = np.where(present, members, index[:, None])
        block = key[rows]
        at = np.take_along_axis(block, members, axis=1)
        # (query, mate, image): the reduction runs along contiguous rows.
        better = np.count_nonzero(block[:, None, :] < at[:, :, None], axis=2)
        tied = (block[:, None, :] == at[:, :, None]) & (columns[None, None, :] < members[:, :, None])
        tied_before = np.count_nonzero(tied, axis=2)
        rank = np.where(present, better + tied_before, n)  # 0-based position in the stable order
        rank.sort(axis=1)
        some = mates[index] > 0
        hits = np.arange(1, width + 1)[None, :]
        precision_at_hits = np.where(rank < n, hits / (rank + 1), 0.0).sum(axis=1)
        ns[index[some]] = 1 + (rank[some] < 3).sum(axis=1)
        ap[index[some]] = precision_at_hits[some] / mates[index[some]]
        top1[index[some]] = rank[some, 0] == 0
    return {"ns": ns, "ap": ap, "top1": top1}


def pair_arrays(method: Method, matrix: np.ndarray, codes: np.ndarray, rows: np.ndarray | None = None):
    """(scores, positive) of every pair among `rows` (all images when None)."""
    if rows is not None:
        matrix, codes = matrix[np.ix_(rows, rows)], codes[rows]
    n = len(codes)
    if method.symmetric:
        mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    else:
        mask = ~np.eye(n, dtype=bool)
    same = codes[:, None] == codes[None, :]
    return matrix[mask], same[mask]


def recall_at_precision(curve: dict[str, np.ndarray], precision: float) -> float:
    reaching = curve["recall"][curve["precision"] >= precision]
    return float(reaching.max()) if reaching.size else 0.0


def called_pairs(method: Method, scores: np.ndarray, positive: np.ndarray, threshold: float) -> dict[str, float]:
    """Pairs found, precision and recall when every pair at the threshold or better is called."""
    if threshold is None or np.isnan(threshold):
        return {"pairs_found": np.nan, "true_pairs": int(positive.sum()), "precision": np.nan, "recall": np.nan}
    called = duplicate_mask(method, scores, threshold)
    hits, found, truth = int((called & positive).sum()), int(called.sum()), int(positive.sum())
    return {
        "pairs_found": found,
        "true_pairs": truth,
        "precision": hits / found if found else np.nan,
        "recall": hits / truth if truth else np.nan,
    }


def splits(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(calibrate, score) image indices: the first half of the groups with several images calibrates,
    the second half is scored; single-image groups (distractors) alternate between the two."""
    counts = np.bincount(codes)
    multi = np.flatnonzero(counts > 1)
    first_half = np.isin(codes, multi[: len(multi) // 2])
    singles = counts[codes] == 1
    alternate = np.cumsum(singles) % 2 == 1
    calibrate = np.where(singles, alternate, first_half)
    return np.flatnonzero(calibrate), np.flatnonzero(~calibrate)


def summary_of_pairs(method: Method, scores: np.ndarray, positive: np.ndarray):
    summary, curve = pair_classification(method, scores, positive)
    figures = {"pair_ap": summary["ap"], "pair_auc": summary["auc"]}
    for p in PRECISIONS:
        figures[f"recall_at_p{str(p)[2:]}"] = recall_at_precision(curve, p)
    return figures, summary, curve


# Rows that are no copy of their group's original: the original itself, distractors, unlabelled rows.
# The per-edit table lists every other label (views included, as the reference row of how the data
# set's own photos are found); µAP leaves the views out as well, as DISC21 scores edited copies only.
NOT_COPIES = ("original", "distractor", "")
VIEW = "view"


def micro_ap(method: Method, matrix: np.ndarray, codes: np.ndarray, edit_names: np.ndarray) -> float:
    """DISC21's micro-AP: every edited copy queried against the originals (the references), all
    (copy, original) scores pooled and ranked as one list, a hit where the original is the copy's
    own; NaN for a set without originals and edits. The copy is the query: for a one-way score the
    copy-to-original direction, as DISC21 scores a query against its references."""
    originals = np.flatnonzero(edit_names == "original")
    copies = np.flatnonzero(~np.isin(edit_names, (*NOT_COPIES, VIEW)))
    if not originals.size or not copies.size:
        return float("nan")
    scores = matrix[np.ix_(copies, originals)].reshape(-1)
    positive = (codes[copies][:, None] == codes[originals][None, :]).reshape(-1)
    return float(pair_classification(method, scores, positive)[0]["ap"])


def thinned(curve: dict[str, np.ndarray], points: int = 200) -> dict[str, np.ndarray]:
    """At most `points` points of a precision-recall curve, evenly spread over recall, for a CSV."""
    recall = curve["recall"]
    if len(recall) <= points:
        return curve
    keep = np.unique(np.searchsorted(recall, np.linspace(0, recall[-1], points)).clip(0, len(recall) - 1))
    return {name: values[keep] for name, values in curve.items()}
