"""Threshold calibration: the threshold each method should use on a data set, and how well the
duplicate groups it would then form match the true groups.

Per method: all pairs scored with each image prepared once; the threshold of the configured rule
(best F1, or the loosest one reaching 99 % precision) from the pair classification; the images
grouped as connected components of the pairs called duplicates at that threshold, scored against
the true groups by pairwise precision/recall/F1. Thresholds passed in (`thresholds.<method>.value`,
e.g. from another data set's snippet) are scored the same way, so a calibration can be checked on
data it was not fitted to.

Outputs: calibration.csv (one row per method and threshold rule) and thresholds/<method>.yaml, a
Hydra snippet that passes the threshold back:
    python experiments/run.py -cd results/calibrate/<dataset> +thresholds=<method> ...
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from dupbench.files import atomic_write_text
from dupbench.methods import DupbenchError, Method
from experiments.data import Dataset
from experiments.evaluation.metrics import (
    duplicate_mask,
    groups_at_threshold,
    pair_classification,
    pair_scores,
    pairwise_clustering_scores,
)
from experiments.provenance import environment, now_utc
from experiments.reporting.findings import calibration_findings
from experiments.reporting.labels import method_label
from experiments.reporting.render import render_calibration
from experiments.reporting.sections import Section
from experiments.runners.common import method_order, preflight, resize_label, write_skipped
from experiments.tables import upsert_rows

log = logging.getLogger("dupbench.calibrate")
RULES = {"best_f1": "threshold_at_best_f1", "p99": "threshold_at_p99"}


def snippet(
    method: Method,
    dataset: Dataset,
    rule: str,
    threshold: float,
    summary: Mapping[str, float],
    grouping: Mapping[str, float],
    when: str,
    commit: str,
) -> str:
    """The YAML a later run reads back; `@package _global_` so it lands at `thresholds.<method>`."""
    entry = {
        "value": threshold,
        "direction": method.direction,
        "rule": rule,
        "calibrated_on": dataset.name,
        "resize": resize_label(dataset.resize),
        **method.describe(),
        "pair_precision": round(float(grouping["pair_precision"]), 6),
        "pair_recall": round(float(grouping["pair_recall"]), 6),
        "pairwise_f1_of_groups": round(float(grouping["pairwise_f1"]), 6),
        "calibrated_at": when,
        "git_commit": commit,
    }
    verb = "at least" if method.goodness(1) > 0 else "at most"
    header = (
        f"# @package _global_\n# dupbench: {method.name} calls a pair a duplicate when its score is {verb} "
        f"{threshold:g}\n# (rule {rule}, calibrated on {dataset.name}). Use it with:\n"
        f"#   python experiments/run.py -cd results/calibrate/{dataset.name} +thresholds={method.name} ...\n"
    )
    return header + yaml.safe_dump({"thresholds": {method.name: entry}}, sort_keys=False)


def calibrate(
    method: Method, dataset: Dataset, pictures: list, rule: str, given: Mapping[str, Any] | None
) -> tuple[list[dict[str, Any]], tuple[float, dict, dict]]:
    groups = dataset.groups
    prepared = method.prepare_many(pictures)
    matrix = method.score_matrix(prepared, prepared, same=True)
    scores, positive = pair_scores(method, matrix, groups)
    summary, _ = pair_classification(method, scores, positive)
    candidates = {name: summary[column] for name, column in RULES.items()}
    if given:
        candidates[f"given ({given.get('calibrated_on', '?')})"] = float(given["value"])
    rows, chosen = [], None
    for name, threshold in candidates.items():
        row = {
            "method": method.name,
            "family": method.family,
            "variant": method.variant,
            "direction": method.direction,
            "rule": name,
            "threshold": threshold,
            "pair_auc": summary["auc"],
            "pair_ap": summary["ap"],
        }
        if not math.isnan(threshold):
            called = duplicate_mask(method, scores, threshold)
            grouping = {
                "pair_precision": (called & positive).sum() / max(called.sum(), 1),
                "pair_recall": (called & positive).sum() / max(positive.sum(), 1),
                **pairwise_clustering_scores(groups_at_threshold(method, matrix, threshold), groups),
            }
            row.update(grouping)
            if name == rule:
                chosen = (threshold, summary, grouping)
        rows.append(row)
    return rows, chosen


def run(cfg: Mapping[str, Any], dataset: Dataset, out_dir: Path) -> pd.DataFrame:
    rule = str(cfg["experiment"]["rule"])
    if rule not in RULES:
        raise DupbenchError(f"unknown experiment.rule {rule!r}; valid: {', '.join(RULES)}")
    methods, images = preflight(cfg, dataset)
    dataset = images.dataset
    write_skipped(dataset, out_dir)
    env, given = environment(), cfg.get("thresholds") or {}
    pictures = images.all_at_common_size()
    table = pd.DataFrame()
    for method in methods:
        rows, chosen = calibrate(method, dataset, pictures, rule, given.get(method.name))
        when = now_utc()
        for row in rows:
            row.update(
                {
                    "experiment": "calibrate",
                    "dataset": dataset.name,
                    "resize": resize_label(dataset.resize),
                    **method.describe(),
                    "n_images": len(dataset.items),
                    "machine": env["machine"],
                    "git_commit": env["git_commit"],
                    "finished_at": when,
                }
            )
        table = upsert_rows(out_dir / "calibration.csv", rows, order=method_order)
        if chosen is None:
            log.warning("%-30s no threshold reaches rule %s here: no snippet written", method.name, rule)
            continue
        threshold, summary, grouping = chosen
        path = out_dir / "thresholds" / f"{method.name}.yaml"
        atomic_write_text(path, snippet(method, dataset, rule, threshold, summary, grouping, when, env["git_commit"]))
        log.info(
            "%-30s threshold %-10.6g pairs: P %.3f R %.3f  groups: pairwise P %.3f R %.3f F1 %.3f "
            "(%d clusters, %d true groups) -> %s",
            method_label(method.name, method.describe()["backbone"]),
            threshold,
            grouping["pair_precision"],
            grouping["pair_recall"],
            grouping["pairwise_precision"],
            grouping["pairwise_recall"],
            grouping["pairwise_f1"],
            grouping["n_clusters"],
            grouping["n_groups"],
            path,
        )
    return table


SECTION = Section(table="calibration.csv", render=render_calibration, findings=calibration_findings, baseline=False)
