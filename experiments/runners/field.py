"""experiment=field (`make field`): every method and every peer tool on real photos, one table (issue 15).

Per method (fast engine): every file decoded at the size the method declares (experiments/data/
encode.py: JPEG draft scaling, batches, a thread per core, the feature cache for networks), all
pairs scored; timed as encode (decode + prepare), search (all pairs) and total; peak resident
memory of the process while the method ran (Linux's VmHWM, reset before each method through
/proc/self/clear_refs). Figures from the score matrix (experiments/evaluation/field_metrics.py):
N-S score, mAP, top-1, pair AP and AUC, recall at precision 0.99 and 0.999, and per threshold rule
(the method's shipped default, best F1 and p99 calibrated on the other half of the groups): pairs
found, precision, recall. Per edit (a data set built by experiments/data/edits.py): how many of
the originals' edited copies each method finds at each threshold, and how often their best match
is of their group.

Per peer (experiments/peers/): the whole tool on a copy of the files, its own process, timed with
its peak memory; its groups scored as pairs at its default (rule `default`).

A method whose all-pairs scoring would take longer than `experiment.budget_s` (measured on a
sample, extrapolated) is a `skipped` row with the estimate: the table says what it could not do.
Outputs: field.csv (one row per method or peer x threshold rule), edits.csv, curves.csv (thinned
precision-recall curves), skipped.csv, field.png, pr.png, edits.png (where there are edits).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dupbench.errors import DupbenchError
from dupbench.methods import Method, create_method, method_class
from experiments.data import Dataset
from experiments.data.encode import Decode, OverBudget, encode, file_digests, usable
from experiments.evaluation.field_figures import field_figures
from experiments.evaluation.field_metrics import group_codes, splits, thinned
from experiments.memory import give_back_memory, peak_rss_mib, reset_peak
from experiments.paths import repo_path
from experiments.peers import catalog
from experiments.peers.run import evaluate_peer, staged
from experiments.provenance import environment, now_utc
from experiments.reporting.labels import method_label
from experiments.reporting.render import render_field
from experiments.reporting.sections import Section
from experiments.runners.common import method_names_of, method_order, write_skipped
from experiments.tables import drop_rows, read_csv_or_empty, update_json, upsert_rows

log = logging.getLogger("dupbench.field")


def usable_dataset(dataset: Dataset, workers: int) -> Dataset:
    bad = usable([item.path for item in dataset.items], workers)
    return dataset.without(bad) if bad else dataset


def fingerprint(method: Method, want: Decode, digests: list[str], extra: Mapping[str, Any]) -> str:
    what = {
        "method": method.name,
        "code": method.code_version(),
        "identity": method.cache_identity(),
        "describe": method.describe(),
        "decode": want.label,
        "files": hashlib.sha256("".join(digests).encode()).hexdigest(),
        **extra,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Field:
    """One data set's field run: its files, groups, splits and edits, shared by every method."""

    def __init__(self, cfg: Mapping[str, Any], dataset: Dataset, out_dir: Path) -> None:
        self.cfg, self.experiment, self.out_dir = cfg, cfg["experiment"], out_dir
        self.workers = int(self.experiment["workers"])
        self.dataset = usable_dataset(dataset, self.workers)
        items = self.dataset.items
        self.paths = [item.path for item in items]
        self.digests = file_digests(self.paths, self.workers)
        self.codes = group_codes(self.dataset.groups)
        self.calibrate, self.scored = splits(self.codes)
        self.edits = np.array([item.edit for item in items])
        self.size = tuple(self.experiment["resize"])
        self.cache_dir = repo_path(cfg["feature_cache"]) if cfg.get("feature_cache") else None
        self.env = environment()
        self.largest_peak = peak_rss_mib()
        self.common = {
            "experiment": "field",
            "dataset": self.dataset.name,
            "n_images": len(items),
            "n_groups": int((np.bincount(self.codes) > 1).sum()),
            "calibrate_images": len(self.calibrate),
            "scored_images": len(self.scored),
        }

    # --- methods ---------------------------------------------------------------------------------
    def run_method(self, method: Method, force: bool) -> None:
        want = Decode.for_method(method, self.size)
        mark = fingerprint(method, want, self.digests, {"budget_s": self.experiment["budget_s"]})
        done = read_csv_or_empty(self.out_dir / "field.csv")
        if not force and not done.empty and ((done["method"] == method.name) & (done["fingerprint"] == mark)).any():
            log.info("%-24s kept (same code, weights, files and decode)", method.name)
            return
        base = {
            **self.common,
            "kind": "method",
            "method": method.name,
            "label": method_label(method.name, method.describe()["backbone"]),
            "family": method.family,
            "variant": method.variant,
            "suite": method.suite,
            "direction": method.direction,
            "decode": want.label,
            **method.describe(),
            "code_version": method.code_version(),
            "fingerprint": mark,
        }
        reset_peak()
        budget = float(self.experiment["budget_s"])
        per_image = float(self.experiment["max_encode_s_per_image"])
        start = time.perf_counter()
        try:
            encoded = encode(
                method,
                self.paths,
                self.digests,
                want,
                self.cache_dir,
                self.workers,
                label=method.name,
                budget_s=per_image * len(self.paths),
            )
        except OverBudget as over:
            return self.over_budget(
                base, f"{over} (from its first batch), over experiment.max_encode_s_per_image={per_image:g}"
            )
        encode_s = time.perf_counter() - start
        estimate = self.estimate(method, encoded.prepared)
        if estimate > budget:
            return self.over_budget(
                base, f"all pairs would take ~{estimate:.3g} s (from a sample) > experiment.budget_s={budget:g}"
            )
        start = time.perf_counter()
        matrix = method.score_matrix(encoded.prepared, encoded.prepared, same=True)
        search_s = time.perf_counter() - start
        timing = {
            "encode_s": encode_s,
            "search_s": search_s,
            "total_s": encode_s + search_s,
            "images_per_s": len(self.paths) / encode_s,
            "cache_hits": encoded.cache_hits,
        }
        rows, edits, curve = self.figures(method, matrix, encoded.prepared)
        timing["peak_rss_mib"] = peak_rss_mib()
        rows = [{**base, **timing, **row, "status": "ok", **self.stamp()} for row in rows]
        self.save(rows, method.name, edits, curve)
        first = rows[0]
        log.info(
            "%-24s N-S %.2f  mAP %.3f  pair AP %.3f  R@P99 %.3f  %.1f img/s  total %.1f s  peak %.0f MiB%s",
            method.name,
            first["ns_score"],
            first["map"],
            first["pair_ap"],
            first["recall_at_p99"],
            timing["images_per_s"],
            timing["total_s"],
            timing["peak_rss_mib"],
            f"  (cache hits {encoded.cache_hits})" if encoded.cache_hits else "",
        )

    def over_budget(self, base: dict[str, Any], why: str) -> None:
        reason = f"skipped: {why}"
        log.warning("%-24s %s", base["method"], reason)
        self.save([{**base, "rule": "none", "status": reason, **self.stamp()}], base["method"], [], None)

    def estimate(self, method: Method, prepared: Any) -> float:
        """Seconds all pairs would take, from a sample's all pairs (0 when the sample is everything)."""
        n = method.count(prepared)
        sample = min(n, int(self.experiment["budget_sample"]))
        if sample >= n:
            return 0.0
        part = method.subset(prepared, slice(0, sample))
        # The best of two timed calls after one untimed: a first call pays for thread pools and lazy
        # loads, which extrapolated 6,400-fold skipped a method that ran in 36 s at 8,000 images.
        method.score_matrix(part, part, same=True)
        took = []
        for _ in range(2):
            start = time.perf_counter()
            method.score_matrix(part, part, same=True)
            took.append(time.perf_counter() - start)
        return min(took) * (n / sample) ** 2

    def figures(self, method: Method, matrix: np.ndarray, prepared: Any) -> tuple[list[dict], list[dict], dict]:
        return field_figures(method, matrix, prepared, self.codes, self.calibrate, self.scored, self.edits)

    # --- peers -----------------------------------------------------------------------------------
    def run_peers(self, chosen: list[str] | None) -> None:
        # dupbench find's own rules (catalog.FINDERS), run and scored as a peer is, beside the tools: a "finder" row.
        peers = [p for p in (*catalog.FINDERS, *catalog.PEERS) if chosen is None or p.name in chosen]
        if not peers:
            return
        scored = np.zeros(len(self.dataset.items), dtype=bool)
        scored[self.scored] = True
        with staged(self.dataset) as folder:
            for peer in peers:
                base = {
                    **self.common,
                    "kind": "finder" if peer in catalog.FINDERS else "peer",
                    "method": peer.name,
                    "label": peer.name,
                    "family": "peer",
                    "variant": peer.environment.name,
                    "suite": "peer",
                    "rule": "default",
                    "threshold_source": peer.default,
                    "equivalent": peer.equivalent,
                }
                # The whole set staged (a tool sees every file, as a person's folder), its pairs scored
                # on the scored half, as the methods' rows are, and on all.
                outcome = evaluate_peer(peer, self.dataset, float(self.experiment["timeout_s"]), scored, folder)
                if outcome["status"] != "ok":
                    self.save([{**base, "status": outcome["status"], **self.stamp()}], peer.name, [], None)
                    log.warning("%-24s %s", peer.name, outcome["status"])
                    continue
                row = {
                    **base,
                    "version": outcome["version"],
                    "total_s": outcome["wall_s"],
                    "images_per_s": outcome["images_per_s"],
                    "peak_rss_mib": outcome["peak_rss_mib"],
                    **outcome["pairs"],
                    **{f"{k}_all": v for k, v in outcome["pairs_all"].items()},
                    "status": "ok",
                    **self.stamp(),
                }
                self.save([row], peer.name, [], None)
                log.info(
                    "%-24s %.2f s, peak %.0f MiB, %d pairs (all), precision %.3f, recall %.3f",
                    peer.name,
                    row["total_s"],
                    row["peak_rss_mib"],
                    row["pairs_found_all"],
                    row["precision_all"],
                    row["recall_all"],
                )

    # --- output ----------------------------------------------------------------------------------
    def stamp(self) -> dict[str, Any]:
        env = self.env
        return {
            "machine": env["machine"],
            "cpu_count": env["cpu_count"],
            "torch_threads": env["threads"].get("torch") if isinstance(env["threads"], dict) else "",
            "workers": self.workers,
            "git_commit": env["git_commit"],
            "finished_at": now_utc(),
        }

    def save(self, rows: list[dict], name: str, edits: list[dict], curve: dict | None) -> None:
        """The old field row out first, companions next, the new row last: a row in field.csv always
        has its own edits and curve, whatever point a kill hits."""
        drop_rows(self.out_dir / "field.csv", [name])
        # The backbone too: the edits heatmap names a CNN's row with it, as every other figure does.
        stamp = {"dataset": self.dataset.name, "method": name, "backbone": rows[0].get("backbone", "") if rows else ""}
        if edits:
            upsert_rows(self.out_dir / "edits.csv", [{**stamp, **row} for row in edits], order=method_order)
        else:
            drop_rows(self.out_dir / "edits.csv", [name])
        if curve is not None:
            points = thinned(curve)
            frame = [
                {**stamp, "precision": p, "recall": r, "threshold": t}
                for p, r, t in zip(points["precision"], points["recall"], points["threshold"])
            ]
            upsert_rows(self.out_dir / "curves.csv", frame, order=method_order)
        upsert_rows(self.out_dir / "field.csv", rows, order=method_order)


def run(cfg: Mapping[str, Any], dataset: Dataset, out_dir: Path) -> pd.DataFrame:
    experiment = cfg["experiment"]
    if len(experiment["resize"]) != 2:
        raise DupbenchError(f"experiment.resize={experiment['resize']!r}: give [width, height]")
    options = {"backbone": cfg["backbone"], "weights_path": cfg["weights_path"]}
    names = method_names_of(cfg)
    for name in names:
        method_class(name)  # an unknown name stops the run before any work
    field = Field(cfg, dataset, out_dir)
    write_skipped(field.dataset, out_dir)
    log.info(
        "field on %s: %d images, %d groups; calibrate on %d images, score on %d",
        field.dataset.name,
        len(field.paths),
        field.common["n_groups"],
        len(field.calibrate),
        len(field.scored),
    )
    start = time.perf_counter()
    for name in names:  # one method alive at a time: each one's peak memory is its own
        method = create_method(name, options)
        field.run_method(method, bool(cfg.get("force")))
        field.largest_peak = max(field.largest_peak, peak_rss_mib())
        method.release()
        del method
        give_back_memory()
    if experiment.get("peers", True):
        field.run_peers(experiment.get("only_peers"))
    run = {
        "wall_s": time.perf_counter() - start,
        "largest_peak_rss_mib": field.largest_peak,  # this process's, over every method (peers: their own rows)
        "methods": names,
        "finished_at": now_utc(),
        "environment": field.env,
    }
    update_json(out_dir / "meta.json", lambda meta: {**meta, "last_run": run})
    log.info("field on %s: %.0f s, largest peak %.0f MiB", field.dataset.name, run["wall_s"], field.largest_peak)
    figures(out_dir / "field.csv", out_dir, out_dir)
    return pd.read_csv(out_dir / "field.csv")


def figures(table: Path, companions: Path, out: Path) -> list[Path]:
    from experiments.reporting.plots import field_plots  # matplotlib: only when something is drawn

    return field_plots(table, companions, out)


SECTION = Section(
    table="field.csv",
    render=render_field,
    plots=(
        ("field.png", "Time against recall at precision 0.99 (log time)"),
        ("pr.png", "Precision-recall over all pairs"),
        ("edits.png", "Recall of each edit at the calibrated p99 threshold"),
    ),
    engines=("article",),
    companions=("edits.csv", "curves.csv"),
    figures=figures,
)
