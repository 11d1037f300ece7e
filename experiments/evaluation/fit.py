"""Fitting a finder's threshold on calibration folders and scoring it on others, by running the very
grouping `dupbench find` runs (dupbench.grouping) on each folder (issue 21).

A folder here is a half of a data set: its images, their true groups, their representations and
their nearest neighbours among themselves (a finder sees only the folder it is given, so the
background of each image is the folder's). `fit` tries thresholds from strict to loose, at
quantiles of the true links' (adjusted) scores, whole numbers for a method whose scores are whole
(Hamming distances; halves once the folder's background is subtracted), and keeps the loosest
before the first at which some folder's groups fall below the precision asked (in a folder of
distinct images: more than `max_wrong_per_1000` images grouped).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dupbench.grouping import Neighbours, Rule, adjust, group, neighbours, with_background
from dupbench.methods import Method
from experiments.evaluation.group_metrics import group_scores

TRIES = 96
MAX_SCORED = 4000  # a folder up to this size keeps its all-pairs scores (128 MB)


@dataclass
class Folder:
    kind: str
    role: str  # "main" (duplicates and negatives) or "nodup" (distinct images only)
    codes: np.ndarray
    prepared: Any
    near: Neighbours
    scores: np.ndarray | None = None  # all pairs, scored once: a fit groups the folder at many thresholds

    @classmethod
    def of(cls, kind: str, role: str, method: Method, prepared: Any, codes: np.ndarray, rows: np.ndarray) -> Folder:
        sub = method.subset(prepared, rows)
        scores = method.score_matrix(sub, sub, same=True) if len(rows) <= MAX_SCORED else None
        return cls(kind, role, codes[rows], sub, neighbours(method, sub), scores)


def evaluate(method: Method, folder: Folder, rule: Rule) -> tuple[list[list[int]], dict[str, float]]:
    groups = group(method, folder.prepared, folder.near, rule, folder.scores)
    return groups, group_scores(groups, folder.codes)


def whole(method: Method, folder: Folder) -> bool:
    return bool(folder.near.scores.size) and bool(np.all(folder.near.scores == np.round(folder.near.scores)))


def candidates(method: Method, folders: list[Folder], template: Rule) -> list[float]:
    """Thresholds to try, strict first: quantiles of the adjusted scores of true neighbour links."""
    values = []
    for folder in folders:
        if folder.role != "main" or not folder.near.scores.size:
            continue
        near = with_background(method, folder.near, template)
        rows = np.repeat(np.arange(len(folder.codes)), near.indices.shape[1])
        cols = near.indices.reshape(-1)
        true = folder.codes[rows] == folder.codes[cols]
        scores = adjust(near.scores.reshape(-1), near.background[rows], near.background[cols], template)
        values.append(scores[true])
    if not values or not sum(len(v) for v in values):
        return []
    pooled = np.concatenate(values)
    tried = np.unique(np.quantile(pooled, np.linspace(0, 1, TRIES)))
    if all(whole(method, f) for f in folders if f.role == "main"):
        # Whole scores (Hamming distances) get whole thresholds; less a mean of two whole backgrounds, halves.
        step = 1.0 if template.normalise == "none" else 0.5
        tried = np.unique(np.round(tried / step) * step)
    return sorted(tried.tolist(), key=lambda t: -float(method.goodness(t)))


def holds(scores: dict[str, float], role: str, precision: float, max_wrong_per_1000: float) -> bool:
    if role == "nodup":
        return scores["wrong_per_1000"] <= max_wrong_per_1000
    return not scores["pairs_found"] or scores["precision"] >= precision


def fit(
    method: Method,
    folders: list[Folder],
    template: Rule,
    precision: float = 0.99,
    max_wrong_per_1000: float = 10.0,
) -> float:
    """The loosest threshold before the first at which a folder's groups fail (NaN: none held)."""
    chosen = np.nan
    for threshold in candidates(method, folders, template):
        rule = replace(template, threshold=float(threshold))
        if not all(holds(evaluate(method, f, rule)[1], f.role, precision, max_wrong_per_1000) for f in folders):
            break
        chosen = float(threshold)
    return chosen
