"""The field's figures for one method from its all-pairs score matrix: ranking (N-S, mAP, top-1), pair
classification, DISC21's micro-AP of edited copies against the originals, and per threshold rule
the pairs found, precision and recall on the scored half and on all images; per edit, the share of
edited copies found. The finder's rules (`groups_p99`, fitted on the calibration half, and `shipped`,
the rule `dupbench find` ships for the method) run the finder's own grouping (dupbench.grouping) on
the half as on a folder: one code path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from dupbench.errors import DupbenchError
from dupbench.finder.recommend import rule_of, shipped
from dupbench.grouping import Rule
from dupbench.methods import Method
from experiments.evaluation.field_metrics import (
    NOT_COPIES,
    called_pairs,
    micro_ap,
    pair_arrays,
    ranking,
    summary_of_pairs,
)
from experiments.evaluation.fit import Folder, evaluate, fit
from experiments.evaluation.metrics import duplicate_mask

RULES = ("default", "best_f1", "p99", "groups_p99", "shipped")
# The field's own finder rule, as before issue 21: connected components at the loosest threshold whose
# groups keep 99 % on the calibration half.
GROUPS_P99 = Rule(np.nan, "components", "none")


def shipped_rule(name: str) -> Rule | None:
    """The rule `dupbench find --method NAME` runs by default, where it ships one."""

    try:
        entry = shipped()["methods"].get(name)
    except DupbenchError:
        return None
    if not entry or entry.get("threshold") is None:
        return None
    return rule_of(entry)


class Folders:
    """Each half (and the whole set) as a folder, made once per method: its neighbours searched once,
    its all-pairs scores read from the field's matrix, never scored again."""

    def __init__(self, method: Method, matrix: np.ndarray, prepared: Any, codes: np.ndarray) -> None:
        self.method, self.matrix, self.prepared, self.codes = method, matrix, prepared, codes
        self.made: dict[bytes, Folder] = {}

    def of(self, rows: np.ndarray) -> Folder:
        key = np.asarray(rows).tobytes()
        if key not in self.made:
            whole = len(rows) == len(self.codes)  # all of it: the matrix itself, not a 32 M-pair copy
            scores = self.matrix if whole else self.matrix[np.ix_(rows, rows)]
            self.made[key] = Folder.of("", "main", self.method, self.prepared, self.codes, rows, scores)
        return self.made[key]


def finder_pairs(method: Method, folder: Folder, rule: Rule) -> dict[str, float]:
    """The rule's groups on a folder, scored as the pairs inside them."""
    if np.isnan(rule.threshold):
        return {"pairs_found": np.nan, "true_pairs": np.nan, "precision": np.nan, "recall": np.nan}
    _, figures = evaluate(method, folder, rule)
    return {k: figures[k] for k in ("pairs_found", "true_pairs", "precision", "recall")}


def field_figures(
    method: Method,
    matrix: np.ndarray,
    prepared: Any,
    codes: np.ndarray,
    calibrate: np.ndarray,
    scored: np.ndarray,
    edit_names: np.ndarray,
) -> tuple[list[dict], list[dict], dict]:
    """The field's rows for one method (one per threshold rule), its per-edit rows and its
    precision-recall curve, from its all-pairs score matrix (and, for the finder's rules, its
    representations: the rules run through dupbench.grouping on each half as on a folder)."""
    all_scores, all_positive = pair_arrays(method, matrix, codes)
    overall, _, curve = summary_of_pairs(method, all_scores, all_positive)
    cal_scores, cal_positive = pair_arrays(method, matrix, codes, calibrate)
    _, calibrated, _ = summary_of_pairs(method, cal_scores, cal_positive)
    del cal_scores, cal_positive
    scored_scores, scored_positive = pair_arrays(method, matrix, codes, scored)
    folders = Folders(method, matrix, prepared, codes)
    thresholds = {
        "default": method.default_threshold,
        "best_f1": calibrated["threshold_at_best_f1"],
        "p99": calibrated["threshold_at_p99"],
        "groups_p99": fit(method, [folders.of(calibrate)], GROUPS_P99),
    }
    finder_rules = {"groups_p99": replace(GROUPS_P99, threshold=thresholds["groups_p99"])}
    shipped = shipped_rule(method.name)
    if shipped is not None:
        thresholds["shipped"], finder_rules["shipped"] = shipped.threshold, shipped
    edits = edit_recall(method, matrix, thresholds, codes, scored, edit_names)
    micro = micro_ap(method, matrix, codes, edit_names)
    per_query = ranking(method, matrix, codes)  # last: it overwrites the diagonal
    queries = ~np.isnan(per_query["ns"])
    ranked = {
        "ns_score": float(np.mean(per_query["ns"][queries])),
        "map": float(np.mean(per_query["ap"][queries])),
        "top1": float(np.mean(per_query["top1"][queries])),
        "queries": int(queries.sum()),
        "micro_ap": micro,
    }
    for row in edits:
        picked = queries & (edit_names == row["edit"])
        row["top1"] = float(np.mean(per_query["top1"][picked])) if picked.any() else np.nan
    rows = []
    for rule in [r for r in RULES if r in thresholds]:
        threshold = thresholds[rule]
        if rule == "default" and threshold is None:
            continue
        if rule in finder_rules:  # what `dupbench find` runs: its groups on the half as a folder
            on_scored = finder_pairs(method, folders.of(scored), finder_rules[rule])
            on_all = finder_pairs(method, folders.of(np.arange(len(codes))), finder_rules[rule])
        else:
            on_scored = called_pairs(method, scored_scores, scored_positive, threshold)
            on_all = called_pairs(method, all_scores, all_positive, threshold)
        rows.append(
            {
                "rule": rule,
                "threshold": threshold,
                "threshold_source": {"default": method.default_threshold_source, "shipped": "dupbench find"}.get(
                    rule, "calibrate half"
                ),
                "counted": "pairs inside groups" if rule in finder_rules else "pairs called",
                **ranked,
                **overall,
                **on_scored,
                **{f"{key}_all": value for key, value in on_all.items()},
            }
        )
    return rows, edits, curve


def edit_recall(
    method: Method,
    matrix: np.ndarray,
    thresholds: Mapping[str, Any],
    codes: np.ndarray,
    scored_rows: np.ndarray,
    edit_names: np.ndarray,
) -> list[dict]:
    """Per edit kind: of the scored half's edited copies, the share whose pair with its group's
    original is called a duplicate at each threshold (either order, for a one-way score)."""
    if not (edit_names == "original").any():
        return []
    scored = np.zeros(len(codes), dtype=bool)
    scored[scored_rows] = True
    original_of = {codes[i]: i for i in np.flatnonzero(edit_names == "original")}
    rows = []
    for edit in dict.fromkeys(e for e in edit_names if e not in NOT_COPIES):
        copies = np.flatnonzero((edit_names == edit) & scored)
        copies = np.array([i for i in copies if codes[i] in original_of], dtype=int)
        if not copies.size:
            continue
        originals = np.array([original_of[codes[i]] for i in copies])
        row = {"edit": edit, "copies": int(copies.size)}
        for rule in RULES:
            threshold = thresholds.get(rule)
            if threshold is None or np.isnan(threshold):
                row[f"recall_{rule}"] = np.nan
                continue
            found = duplicate_mask(method, matrix[copies, originals], threshold) | duplicate_mask(
                method, matrix[originals, copies], threshold
            )
            row[f"recall_{rule}"] = float(found.mean())
        rows.append(row)
    return rows
