"""Fitting a finder's threshold on calibration folders and scoring it on others, by running the very
grouping `dupbench find` runs (dupbench.grouping) on each folder (issue 21).

A folder here is a half of a data set: its images, their true groups, their representations and
their nearest neighbours among themselves (a finder sees only the folder it is given, so the
background of each image is the folder's). `fit` tries thresholds from strict to loose, at
quantiles of the true links' (adjusted) scores, whole numbers for a method whose scores are whole
(Hamming distances; halves once the folder's background is subtracted), and keeps the loosest
before the first at which some folder's groups fall below the precision asked (in a folder of
distinct images: more than `max_wrong_per_1000` images grouped). For connected components the
thresholds are swept in one pass (`ComponentSweep`: links added best first to a union-find, the
figures kept up to date as groups merge), not a grouping per threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dupbench.grouping import Neighbours, Rule, adjust, group, neighbours, scored_links, with_background
from dupbench.methods import Method
from experiments.evaluation.group_metrics import group_scores, pairs_in

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
    def of(
        cls,
        kind: str,
        role: str,
        method: Method,
        prepared: Any,
        codes: np.ndarray,
        rows: np.ndarray,
        scores: np.ndarray | None = None,
    ) -> Folder:
        """`scores`: the folder's all-pairs scores where the caller has them (the field's matrix);
        else scored here up to MAX_SCORED images."""
        sub = method.subset(prepared, rows)
        if scores is None and len(rows) <= MAX_SCORED:
            scores = method.score_matrix(sub, sub, same=True)
        return cls(kind, role, codes[rows], sub, neighbours(method, sub, matrix=scores), scores)


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


class ComponentSweep:
    """A folder's connected-component groups as the threshold loosens (Kruskal-style): its neighbour
    links sorted best first, merged in a union-find; per group, its members' true-group counts, so
    the pairs called, the true pairs among them and the images with no true mate in their group
    follow each merge. `at(threshold)` gives what `group_scores` gives for `group` at that threshold."""

    def __init__(self, method: Method, folder: Folder, template: Rule) -> None:
        self.method = method
        n = len(folder.codes)
        scored = scored_links(method, with_background(method, folder.near, template), template)
        good = np.asarray(method.goodness(scored.adjusted), dtype=np.float64)
        best_first = np.argsort(-good, kind="stable")
        self.a, self.b, self.good = scored.a[best_first], scored.b[best_first], good[best_first]
        self.next = 0
        self.parent = np.arange(n)
        self.counts: list[dict[int, int]] = [{int(c): 1} for c in folder.codes]
        self.size = np.ones(n, dtype=np.int64)
        self.ones = np.ones(n, dtype=np.int64)  # true groups with one member in this group
        self.n, self.called, self.true_found, self.wrong = n, 0, 0, 0
        self.true_pairs = pairs_in(np.unique(folder.codes, return_counts=True)[1])

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def merge(self, x: int, y: int) -> None:
        x, y = self.root(x), self.root(y)
        if x == y:
            return
        if len(self.counts[x]) < len(self.counts[y]):
            x, y = y, x
        wrong_before = (self.ones[x] if self.size[x] > 1 else 0) + (self.ones[y] if self.size[y] > 1 else 0)
        big, small = self.counts[x], self.counts[y]
        self.ones[x] += self.ones[y]
        for code, cb in small.items():
            ca = big.get(code, 0)
            self.true_found += ca * cb
            self.ones[x] += (ca + cb == 1) - (ca == 1) - (cb == 1)
            big[code] = ca + cb
        self.called += int(self.size[x] * self.size[y])
        self.size[x] += self.size[y]
        self.parent[y] = x
        self.counts[y] = {}
        self.wrong += int(self.ones[x]) - int(wrong_before)

    def at(self, threshold: float) -> dict[str, float]:
        bar = float(self.method.goodness(threshold))
        while self.next < len(self.good) and self.good[self.next] >= bar:
            self.merge(int(self.a[self.next]), int(self.b[self.next]))
            self.next += 1
        return {
            "pairs_found": self.called,
            "true_pairs": self.true_pairs,
            "true_found": self.true_found,
            "precision": self.true_found / self.called if self.called else np.nan,
            "recall": self.true_found / self.true_pairs if self.true_pairs else np.nan,
            "images_wrongly_grouped": self.wrong,
            "wrong_per_1000": 1000.0 * self.wrong / self.n if self.n else np.nan,
        }


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
    sweeps = [ComponentSweep(method, f, template) for f in folders] if template.grouping == "components" else None
    for threshold in candidates(method, folders, template):
        if sweeps is not None:
            figures = [sweep.at(float(threshold)) for sweep in sweeps]
        else:
            rule = replace(template, threshold=float(threshold))
            figures = [evaluate(method, f, rule)[1] for f in folders]
        if not all(holds(fig, f.role, precision, max_wrong_per_1000) for fig, f in zip(figures, folders)):
            break
        chosen = float(threshold)
    return chosen
