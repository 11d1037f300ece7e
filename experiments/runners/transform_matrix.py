"""Experiment 2, controlled: which method survives which transform, and how strong a one.

The base images are the data set's references (one per group, distinct scenes). For each transform
family and severity every base image gets one seeded variant; each base image then queries a
gallery of all other base images and all variants. recall@1 = the share of queries whose best
match is their own variant; margin = how far the true match's score is ahead of the best wrong one
(in the method's own units, positive = right with room). Scores come from each image prepared once
(the same scores as the article's per-pair loop; it is not timed here).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from dupbench.methods import Method
from dupbench.progress import progress
from experiments.data import Dataset
from experiments.data.images import ImageCache
from experiments.data.transforms import apply
from experiments.provenance import environment, now_utc
from experiments.reporting import plots
from experiments.reporting.labels import method_label
from experiments.reporting.render import render_breaking_points
from experiments.reporting.sections import Section
from experiments.runners.common import preflight, write_skipped
from experiments.tables import update_json, upsert_rows

log = logging.getLogger("dupbench.matrix")


def recall_and_margin(method: Method, base_scores: np.ndarray, variant_scores: np.ndarray) -> tuple[float, float]:
    """base_scores (n, n): base vs base; variant_scores (n, n): base i vs variant j. Query i's true
    match is variant i; its candidates are every other base image and every variant."""
    n = len(base_scores)
    hits, margins = 0, []
    for i in range(n):
        true = method.goodness(variant_scores[i, i])
        wrong = method.goodness(np.concatenate([np.delete(base_scores[i], i), np.delete(variant_scores[i], i)]))
        best_wrong = wrong.max() if wrong.size else -np.inf
        hits += bool(true > best_wrong)  # a tie is not a hit: a finder could not tell them apart
        margins.append(true - best_wrong)
    return hits / n, float(np.mean(margins))


def families(cfg: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any], float]]:
    chosen = cfg["experiment"].get("only")
    return [
        (family, spec, float(severity))
        for family, spec in cfg["experiment"]["transforms"].items()
        if not chosen or family in chosen
        for severity in spec["severities"]
    ]


def base_indices(dataset: Dataset) -> list[int]:
    return dataset.reference_indices or list(range(len(dataset.items)))


def make_variants(images: ImageCache, cfg: Mapping[str, Any]) -> dict[tuple[str, float], list[Image.Image]]:
    """Every cell's variants, made once for all methods."""
    seed = int(cfg["experiment"]["seed"])
    bases = base_indices(images.dataset)
    cells = {}
    for family, spec, severity in families(cfg):
        # Each to its base image's size, as the article resizes both images of a pair to one size:
        # pixel methods need it, and it undoes a scale or aspect change (the lost detail stays).
        cells[(family, severity)] = [
            apply(spec, family, images.originals[i], severity, seed, k).resize(images.target(i))
            for k, i in enumerate(bases)
        ]
    return cells


def evaluate(
    method: Method, images: ImageCache, cells: dict[tuple[str, float], list[Image.Image]], cfg: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One row per (family, severity) for this method."""
    dataset = images.dataset
    bases = base_indices(dataset)
    prepared = method.prepare_many([images.resized(i, images.target(i)) for i in bases])
    base_scores = method.score_matrix(prepared, prepared, same=True)
    rows = []
    for family, spec, severity in progress(families(cfg), method.name, "severity"):
        start = time.perf_counter()
        variant_scores = method.score_matrix(prepared, method.prepare_many(cells[(family, severity)]))
        recall, margin = recall_and_margin(method, base_scores, variant_scores)
        rows.append(
            {
                "experiment": "transforms",
                "dataset": dataset.name,
                "method": method.name,
                "variant": method.variant,
                "direction": method.direction,
                **method.describe(),
                "family": family,
                "op": spec.get("op", family),
                "severity": severity,
                "recall": recall,
                "margin": margin,
                "n": len(bases),
                "seed": int(cfg["experiment"]["seed"]),
                "seconds": time.perf_counter() - start,
            }
        )
    return rows


def run(cfg: Mapping[str, Any], dataset: Dataset, out_dir: Path) -> pd.DataFrame:
    methods, images = preflight(cfg, dataset)
    dataset = images.dataset
    env = environment()
    log.info(
        "transform matrix on %s: %d base images, %d family/severity cells, %d methods -> %s",
        dataset.name,
        len(dataset.reference_indices),
        len(families(cfg)),
        len(methods),
        out_dir,
    )
    cells = make_variants(images, cfg)
    matrix = pd.DataFrame()
    for method in methods:
        rows = evaluate(method, images, cells, cfg)
        for row in rows:
            row.update({"machine": env["machine"], "git_commit": env["git_commit"], "finished_at": now_utc()})
        matrix = upsert_rows(out_dir / "matrix.csv", rows)
        update_json(out_dir / "meta.json", lambda meta: {**meta, "config": cfg, "environment": env})
        plots.transform_heatmap(matrix, out_dir / "matrix.png")
        worst = min(rows, key=lambda r: r["recall"])
        log.info(
            "%-30s mean recall@1 %.2f; lowest %.2f at %s %g",
            method_label(method.name, method.describe()["backbone"]),
            np.mean([r["recall"] for r in rows]),
            worst["recall"],
            worst["family"],
            worst["severity"],
        )
    write_skipped(dataset, out_dir)
    return matrix


SECTION = Section(
    table="matrix.csv",
    render=render_breaking_points,
    plots=(("matrix.png", "recall@1 per transform and severity"),),
    redraw=plots.transform_heatmap,
)
