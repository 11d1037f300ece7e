"""The article's retrieval experiment (its Experiments 1 and 2: the same protocol on two data sets):
speed and accuracy of every method, the article's way, plus two extensions.

Per method: (1) the article's loop, timed per pair around prepare(both images) + score, exactly
what the article's timer enclosed; its scores give the article's accuracy; (2) each image prepared
once and all pairs scored (`prepared_s_per_pair`), which gives `accuracy_all_queries`.
Rows are written as soon as a method finishes, so a later failure or Ctrl-C keeps them, and a
rerun skips the methods whose rows are already there for the same data and settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dupbench.methods import DupbenchError, Method
from dupbench.methods.base import loop_prepare_many, loop_score_matrix
from dupbench.progress import progress
from experiments.data import Dataset
from experiments.data.feature_cache import prepare_cached
from experiments.data.images import ImageCache
from experiments.evaluation.metrics import pair_classification, pair_scores, retrieval_metrics
from experiments.evaluation.protocol import all_queries_recall, article_accuracy, article_pairs
from experiments.paths import ENGINES, repo_path
from experiments.provenance import environment, now_utc, threads
from experiments.reporting.findings import retrieval_findings
from experiments.reporting.labels import method_label
from experiments.reporting.render import render_retrieval, render_thresholds
from experiments.reporting.sections import Section
from experiments.runners.common import method_order, preflight, resize_label, write_skipped
from experiments.tables import drop_rows, read_csv_or_empty, update_json, upsert_rows

log = logging.getLogger("dupbench.retrieval")


def time_article_loop(
    method: Method, images: ImageCache, references: list[int], pairs: list[tuple[int, int]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (n_images, n_refs) and seconds per pair, timed as the article timed them, over the
    protocol's pairs (or the given ones of them; the others' scores stay NaN)."""
    n = len(images)
    columns = np.full((n, len(references)), np.nan)
    seconds = []
    column_of = {ref: c for c, ref in enumerate(references)}
    pairs = article_pairs(n, references) if pairs is None else pairs
    for row, ref in progress(pairs, f"{method.name} (article loop)", "pair"):
        a_image, b_image = images.pair(row, ref)
        start = time.perf_counter()
        score = method.score(method.prepare(a_image), method.prepare(b_image))
        seconds.append(time.perf_counter() - start)
        columns[row, column_of[ref]] = score
    return columns, np.asarray(seconds)


def distinct_pairs(method: Method, n: int) -> int:
    return max(n * (n - 1) // (2 if method.symmetric else 1), 1)


def time_prepared(method: Method, images: ImageCache) -> tuple[np.ndarray, float, float]:
    """All-pairs scores with each image prepared once by the article's per-image and per-pair calls
    (one prepare per image, one score per pair); seconds per image and per scored pair."""
    pictures = images.all_at_common_size()
    start = time.perf_counter()
    prepared = loop_prepare_many(method, pictures)
    prepare_s = time.perf_counter() - start
    start = time.perf_counter()
    matrix = loop_score_matrix(method, prepared, prepared, same=True)
    score_s = time.perf_counter() - start
    return matrix, prepare_s / len(pictures), score_s / distinct_pairs(method, len(pictures))


def time_fast(method: Method, images: ImageCache, cache_dir: Path | None) -> tuple[np.ndarray, dict[str, Any]]:
    """The fast engine: every image prepared in one batched call (features from the cache where
    there), all pairs scored by the method's vectorised score_matrix. The article's accuracy is then
    read off the reference columns of this one matrix."""
    pictures = images.all_at_common_size()
    start = time.perf_counter()
    prepared, hits = prepare_cached(method, pictures, images.file_sha256s(), cache_dir)
    prepare_s = time.perf_counter() - start
    start = time.perf_counter()
    matrix = method.score_matrix(prepared, prepared, same=True)
    score_s = time.perf_counter() - start
    pairs = distinct_pairs(method, len(pictures))
    return matrix, {
        "mean_s_per_pair": (prepare_s + score_s) / pairs,
        "median_s_per_pair": float("nan"),
        "prepared_s_per_pair": score_s / pairs,
        "prepare_s_per_image": prepare_s / len(pictures),
        "total_s": prepare_s + score_s,
        "cache_hits": hits,
    }


def query_rows(
    experiment: str,
    dataset: Dataset,
    method: Method,
    protocol: str,
    queries: list[int],
    retrieved: list[np.ndarray],
    score_of,
) -> list[dict[str, Any]]:
    rows = []
    for q, got in zip(queries, retrieved):
        for rank, index in enumerate(got, start=1):
            rows.append(
                {
                    "experiment": experiment,
                    "dataset": dataset.name,
                    "method": method.name,
                    "protocol": protocol,
                    "query": dataset.items[q].key,
                    "query_group": dataset.items[q].group,
                    "rank": rank,
                    "retrieved": dataset.items[index].key,
                    "score": score_of(q, int(index)),
                    "hit": dataset.items[index].group == dataset.items[q].group,
                }
            )
    return rows


def evaluate(
    experiment: str,
    method: Method,
    dataset: Dataset,
    images: ImageCache,
    top_k: int,
    engine: str = "article",
    cache_dir: Path | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], pd.DataFrame]:
    """The table row, the query rows, the pair-classification summary and its PR curve."""
    references = dataset.reference_indices
    groups = dataset.groups
    if engine == "fast":
        matrix, timing = time_fast(method, images, cache_dir)
        columns = matrix[:, references]
    else:
        columns, seconds = time_article_loop(method, images, references)
        matrix, prepare_s, prepared_s = time_prepared(method, images)
        timing = {
            "mean_s_per_pair": float(seconds.mean()),
            "median_s_per_pair": float(np.median(seconds)),
            "prepared_s_per_pair": prepared_s,
            "prepare_s_per_image": prepare_s,
        }
    accuracy, retrieved = article_accuracy(method, columns, groups, references, top_k)
    accuracy_all, retrieved_all = all_queries_recall(method, matrix, groups, top_k)
    column_of = {ref: c for c, ref in enumerate(references)}
    row = {
        "experiment": experiment,
        "dataset": dataset.name,
        "method": method.name,
        "family": method.family,
        "variant": method.variant,
        "direction": method.direction,
        **method.describe(),
        "engine": engine,
        "resize": resize_label(dataset.resize),
        "n_images": len(groups),
        "n_references": len(references),
        "n_pairs": len(article_pairs(len(groups), references)),
        "top_k": top_k,
        "accuracy": accuracy,
        "accuracy_ceiling": accuracy_ceiling(dataset, top_k),
        "accuracy_all_queries": accuracy_all,
        **timing,
        **retrieval_metrics(method, matrix, groups),
    }
    summary, curve = pair_classification(method, *pair_scores(method, matrix, groups))
    row.update({"pair_auc": summary["auc"], "pair_ap": summary["ap"]})
    keys = {"experiment": experiment, "dataset": dataset.name, "method": method.name}
    thresholds = {**keys, "direction": method.direction, **summary}
    curve_rows = thin_curve(pd.DataFrame(curve)).assign(**keys, backbone=method.describe()["backbone"])
    queries = query_rows(
        experiment, dataset, method, "article", references, retrieved, lambda q, i: float(columns[i, column_of[q]])
    )
    queries += query_rows(
        experiment,
        dataset,
        method,
        "all_queries",
        list(range(len(groups))),
        retrieved_all,
        lambda q, i: float(matrix[q, i]),
    )
    return row, queries, thresholds, curve_rows


def thin_curve(curve: pd.DataFrame, points: int = 400) -> pd.DataFrame:
    """At most ~`points` points of a PR curve (first and last kept): enough to draw it, and
    pr_curve.csv stays small. The exact figures are in thresholds.csv."""
    if len(curve) <= points:
        return curve
    keep = np.unique(np.r_[np.linspace(0, len(curve) - 1, points).round().astype(int), len(curve) - 1])
    return curve.iloc[keep]


def fingerprint(method: Method, images: ImageCache, top_k: int, engine: str = "article") -> str:
    """What a row depends on: the method's code and weights, each image's bytes (sha256), their
    resize, top_k. A rerun reuses a row only when all of it is unchanged."""
    dataset = images.dataset
    facts = {
        "method": method.name,
        "variant": method.variant,
        "code": method.code_version(),
        **method.describe(),
        "dataset": dataset.name,
        "resize": dict(dataset.resize),
        "top_k": top_k,
        **({"engine": engine} if engine != "article" else {}),
        "items": [(it.key, it.group, sha) for it, sha in zip(dataset.items, images.file_sha256s())],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


# A method's outputs besides its table row; the row is written after all of them.
COMPANIONS = ("queries.csv", "thresholds.csv", "pr_curve.csv")


def finished_fingerprints(out_dir: Path, table: pd.DataFrame) -> dict[str, str]:
    """Fingerprint per method whose outputs are complete: its table row, and rows of the same run in
    every companion file and meta.json. A row whose companions are missing counts as not done."""
    if table.empty or "fingerprint" not in table or "run_id" not in table:
        return {}
    companions = [read_csv_or_empty(out_dir / name) for name in COMPANIONS]
    meta_path = out_dir / "meta.json"
    meta = json.loads(meta_path.read_text()).get("methods", {}) if meta_path.is_file() else {}
    done = {}
    for method, mark, run_id in zip(table["method"], table["fingerprint"], table["run_id"]):
        whole = all(
            not c.empty and {"method", "run_id"} <= set(c) and ((c["method"] == method) & (c["run_id"] == run_id)).any()
            for c in companions
        )
        if whole and meta.get(method, {}).get("run_id") == run_id:
            done[method] = mark
    return done


def accuracy_ceiling(dataset: Dataset, top_k: int) -> float:
    """The best article accuracy (%) possible: a reference whose group has more than top_k other
    images can find at most top_k of them."""
    sizes = Counter(dataset.groups)
    references = dataset.reference_indices
    found = sum(min(top_k, sizes[dataset.items[r].group] - 1) for r in references)
    return 100.0 * found / max(len(dataset.items) - len(references), 1)


def warn_if_ceiling(dataset: Dataset, top_k: int) -> None:
    ceiling = accuracy_ceiling(dataset, top_k)
    if ceiling < 100.0:
        biggest = max(Counter(dataset.groups).values())
        log.warning(
            "groups of up to %d images with top_k=%d: the article's accuracy cannot reach 100 %% on %s "
            "(at most %.2f %%); read accuracy_all_queries (recall@%d over every image) beside it",
            biggest,
            top_k,
            dataset.name,
            ceiling,
            top_k,
        )


def run(cfg: Mapping[str, Any], dataset: Dataset, out_dir: Path) -> pd.DataFrame:
    """Every configured method in turn; rows already there with the same fingerprint are kept
    unless cfg["force"]. A method that fails is reported and the others still run."""
    experiment, top_k = str(cfg["experiment"]["name"]), int(cfg["experiment"]["top_k"])
    engine = str(cfg.get("engine") or "article")
    if engine not in ENGINES:
        raise DupbenchError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
    cache_dir = repo_path(cfg["feature_cache"]) if cfg.get("feature_cache") and engine == "fast" else None
    methods, images = preflight(cfg, dataset, load=False)  # loaded below, only those computed
    if engine == "article":
        from dupbench.methods.tensors import load_torchvision

        load_torchvision()  # imported lazily (the fast engine needs none of it): not inside a timed call
    dataset = images.dataset
    write_skipped(dataset, out_dir)
    warn_if_ceiling(dataset, top_k)
    env: dict[str, Any] = {}  # recorded when a method is computed: a run that keeps every row needs none of it
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    log.info(
        "%s on %s: %d images, %d references, %d methods -> %s",
        experiment,
        dataset.name,
        len(images),
        len(dataset.reference_indices),
        len(methods),
        out_dir,
    )
    table, failed = read_csv_or_empty(out_dir / "table.csv"), []
    done, computed = finished_fingerprints(out_dir, table), 0
    for method in methods:
        mark = fingerprint(method, images, top_k, engine)
        if not cfg.get("force") and done.get(method.name) == mark:
            log.info(
                "%-30s already in %s with the same data and settings: kept (force=true redoes it)",
                method.name,
                out_dir / "table.csv",
            )
            continue
        try:
            method.load()  # torch, weights, scipy: imported before any timed call, never for a kept row
            row, queries, thresholds, curve = evaluate(experiment, method, dataset, images, top_k, engine, cache_dir)
        except DupbenchError:  # a problem the user must fix (a corrupt weights file): one line, now
            raise
        except Exception:  # one method's crash must not cost the others' results
            log.exception("%s failed; its rows are unchanged, the other methods go on", method.name)
            failed.append(method.name)
            continue
        env = {**(env or environment()), "threads": threads()}  # threads: torch's, once a method loaded it
        row.update(
            {
                "n_skipped": len(dataset.skipped),
                "fingerprint": mark,
                "torch_threads": env["threads"]["torch_num_threads"],
                "machine": env["machine"],
                "git_commit": env["git_commit"],
                "run_id": run_id,
                "finished_at": now_utc(),
            }
        )
        save_method(out_dir, cfg, env, method, row, queries, thresholds, curve)
        computed += 1
        table = read_csv_or_empty(out_dir / "table.csv")
        log.info(
            "%-30s accuracy %6.2f %%  all-queries %6.2f %%  %.2e s/pair (%s engine)  %.2e s/pair (scoring only)%s",
            method_label(method.name, method.describe()["backbone"]),
            row["accuracy"],
            row["accuracy_all_queries"],
            row["mean_s_per_pair"],
            engine,
            row["prepared_s_per_pair"],
            f"  cache hits {row['cache_hits']}" if engine == "fast" else "",
        )
    if computed or not all((out_dir / name).is_file() for name in (cfg["experiment"]["plot"], "pr.png")):
        draw_plots(cfg, out_dir, table)  # a rerun that kept every row leaves its plots as they are
    if failed:
        raise DupbenchError(
            f"{len(failed)} method(s) failed: {', '.join(failed)} (traceback in the run's log); "
            f"the others' results are in {out_dir}"
        )
    return table


def save_method(
    out_dir: Path,
    cfg: Mapping[str, Any],
    env: dict[str, Any],
    method: Method,
    row: dict[str, Any],
    queries: list[dict[str, Any]],
    thresholds: dict[str, Any],
    curve: pd.DataFrame,
) -> None:
    """Every output of one method: its old table row out first, the new row last. A run stopped in
    between leaves a row-less method (redone next time), never a row without its queries, thresholds,
    curve or meta entry, nor (on a redo) an old row beside the new run's companions."""
    run_id = row["run_id"]
    drop_rows(out_dir / "table.csv", [method.name])
    upsert_rows(out_dir / "queries.csv", [{**q, "run_id": run_id} for q in queries], order=method_order)
    upsert_rows(out_dir / "thresholds.csv", [{**thresholds, "run_id": run_id}], order=method_order)
    upsert_rows(out_dir / "pr_curve.csv", curve.assign(run_id=run_id).to_dict("records"), order=method_order)
    update_json(out_dir / "meta.json", lambda meta: record_meta(meta, cfg, env, run_id, row, method))
    upsert_rows(out_dir / "table.csv", [row], order=method_order)


def speed_accuracy_plot(*args: Any, **kwargs: Any) -> Any:
    from experiments.reporting import plots

    return plots.speed_accuracy(*args, **kwargs)


def draw_plots(cfg: Mapping[str, Any], out_dir: Path, table: pd.DataFrame) -> None:
    """Once per run, from the CSVs (an interrupted run's plots: python -m experiments.reporting.plots <table.csv>)."""
    if table.empty:
        return
    from experiments.reporting import plots  # matplotlib (~1.5 s) only when there is something to draw

    plots.speed_accuracy(table, out_dir / cfg["experiment"]["plot"])
    curves = read_csv_or_empty(out_dir / "pr_curve.csv")
    if not curves.empty:
        plots.precision_recall(curves, out_dir / "pr.png")


def record_meta(
    meta: dict[str, Any], cfg: Mapping[str, Any], env: dict[str, Any], run_id: str, row: dict[str, Any], method: Method
) -> dict[str, Any]:
    meta.setdefault("experiment", cfg["experiment"]["name"])
    meta["dataset"] = row["dataset"]
    runs = meta.setdefault("runs", {})
    runs.setdefault(run_id, {"config": cfg, "environment": env})
    meta.setdefault("methods", {})[method.name] = {
        "run_id": run_id,
        "finished_at": row["finished_at"],
        **method.describe(),
        "weights_path": method.weights_file(),
    }
    live = {entry["run_id"] for entry in meta["methods"].values()}
    meta["runs"] = {rid: info for rid, info in runs.items() if rid in live}
    return meta


def thresholds_part(folder: Path, table: pd.DataFrame) -> list[str]:
    thresholds = folder / "thresholds.csv"
    return render_thresholds(pd.read_csv(thresholds), table) if thresholds.is_file() else []


# What a person reads of this runner's output (REPORT.md, README/docs blocks): see reporting/sections.py.
SECTION = Section(
    table="table.csv",
    render=render_retrieval,
    findings=retrieval_findings,
    plots=(("{plot}", "speed vs accuracy"), ("pr.png", "precision-recall of pairs")),
    redraw=speed_accuracy_plot,
    engines=ENGINES,
    more=thresholds_part,
)
