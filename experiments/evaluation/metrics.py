"""Evaluation beyond the article's accuracy, as pure functions of a score matrix.

Retrieval (every image a query against all others): precision@k, recall@k and average precision,
averaged over the queries that have at least one near-duplicate. Rankings use each method's order
with ties kept in the data set's order, as everywhere in the suite.

Pair classification (every pair of distinct images, positive = same group): ROC AUC (ties count
half), the precision-recall curve, average precision, and the thresholds with the best F1 and
with 99 % precision, in the method's own score units and direction: a pair is called a duplicate
when its score is at or below the threshold (distances) or at or above it (similarities).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dupbench.grouping import components
from dupbench.methods.base import Method
from experiments.evaluation.group_metrics import labels_of

KS = (1, 3, 10)


def retrieval_metrics(
    method: Method, matrix: np.ndarray, groups: Sequence[str], ks: Sequence[int] = KS
) -> dict[str, float]:
    labels = np.asarray(groups)
    sums = {f"p_at_{k}": 0.0 for k in ks} | {f"r_at_{k}": 0.0 for k in ks} | {"map": 0.0}
    queries = 0
    for q in range(len(labels)):
        others = np.delete(np.arange(len(labels)), q)
        ranked = others[method.order(matrix[q, others])]
        relevant = labels[ranked] == labels[q]
        n_relevant = int(relevant.sum())
        if not n_relevant:
            continue
        queries += 1
        for k in ks:
            hits = int(relevant[:k].sum())
            sums[f"p_at_{k}"] += hits / k
            sums[f"r_at_{k}"] += hits / n_relevant
        positions = np.flatnonzero(relevant) + 1
        sums["map"] += float(np.mean(np.arange(1, n_relevant + 1) / positions))
    return {name: (total / queries if queries else float("nan")) for name, total in sums.items()}


def pair_scores(method: Method, matrix: np.ndarray, groups: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels of every pair of distinct images: each unordered pair once for a
    symmetric method, both orders for one that is not."""
    n = len(groups)
    i, j = np.triu_indices(n, k=1) if method.symmetric else np.nonzero(~np.eye(n, dtype=bool))
    labels = np.asarray(groups)
    return matrix[i, j], labels[i] == labels[j]


def pair_classification(
    method: Method, scores: np.ndarray, positive: np.ndarray
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Summary figures and the precision-recall curve (one point per distinct threshold)."""
    goodness = method.goodness(scores)
    goodness = np.where(np.isnan(goodness), -np.inf, goodness)  # a score that could not be made: the worst
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        nan = float("nan")
        return {
            "auc": nan,
            "ap": nan,
            "best_f1": nan,
            "threshold_at_best_f1": nan,
            "precision": nan,
            "recall": nan,
            "threshold_at_p99": nan,
        }, {"threshold": np.array([]), "precision": np.array([]), "recall": np.array([])}
    # One sort of the scores, no index sort: at each distinct score (the end of a run of ties), the
    # pairs at or above it are its position, the positives among them a search in the positives'
    # own sorted scores (few). Exact on ties; 32 M pairs in ~4 s where two argsorts took 25 s.
    ordered = np.sort(goodness)[::-1]
    last_of_tie = np.r_[np.flatnonzero(ordered[1:] != ordered[:-1]), len(ordered) - 1]  # cut after equal scores
    good_at = ordered[last_of_tie]
    positives = np.sort(goodness[positive])
    tp = n_pos - np.searchsorted(positives, good_at, side="left")
    fp = (last_of_tie + 1) - tp
    # ROC AUC with a tie between a positive and a negative counting half: each run's positives beat
    # the negatives below the run and tie with the run's own negatives.
    run_pos, run_neg = np.diff(np.r_[0, tp]), np.diff(np.r_[0, fp])
    auc = float(np.sum(run_pos * (n_neg - fp) + 0.5 * run_pos * run_neg) / (n_pos * n_neg))
    precision, recall = tp / (tp + fp), tp / n_pos
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
    best = int(np.argmax(f1))
    thresholds = method.goodness(good_at)  # goodness is its own inverse: back to the method's scores
    reaching = np.flatnonzero(precision >= 0.99)
    summary = {
        "auc": float(auc),
        "ap": ap,
        "best_f1": float(f1[best]),
        "threshold_at_best_f1": float(thresholds[best]),
        "precision": float(precision[best]),
        "recall": float(recall[best]),
        "threshold_at_p99": float(thresholds[reaching[-1]]) if reaching.size else float("nan"),
    }
    return summary, {"threshold": thresholds, "precision": precision, "recall": recall}


def duplicate_mask(method: Method, matrix: np.ndarray, threshold: float) -> np.ndarray:
    """Which scored pairs a method calls duplicates at a threshold, in its own direction."""
    return method.passes(matrix, threshold)


def groups_at_threshold(method: Method, matrix: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster label per image: connected components (dupbench.grouping's, the finder's) of the pairs
    called duplicates. For a method that is not symmetric, a pair is linked when either order passes."""

    links = duplicate_mask(method, matrix, threshold)
    a, b = np.nonzero(np.triu(links | links.T, k=1))
    return labels_of(components(len(matrix), list(zip(a.tolist(), b.tolist(), [0.0] * len(a)))), len(matrix))


def pairwise_clustering_scores(predicted: Sequence, truth: Sequence) -> dict[str, float]:
    """Pairwise precision/recall/F1 of a clustering: a pair of images is a positive when the truth
    puts them in one group, a prediction when the clustering puts them in one cluster."""

    def together(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    _, predicted_ids = np.unique(np.asarray(predicted), return_inverse=True)
    _, truth_ids = np.unique(np.asarray(truth), return_inverse=True)
    joint = np.zeros((predicted_ids.max() + 1, truth_ids.max() + 1), dtype=np.int64)
    np.add.at(joint, (predicted_ids, truth_ids), 1)
    both, called, real = together(joint), together(joint.sum(axis=1)), together(joint.sum(axis=0))
    precision = both / called if called else float("nan")
    recall = both / real if real else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if both else 0.0
    return {
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "pairwise_f1": f1,
        "n_clusters": int(joint.shape[0]),
        "n_groups": int(joint.shape[1]),
    }
