"""experiment=peers (`make peers-bench`): whole duplicate-finding tools run on a data set, each as its
own process in its own environment (experiments/peers/), beside the harness's own method for the
same computation at its calibrated threshold.

Per peer: the data set's files copied into a fresh folder (paths as in the manifest, nothing else in
it); the tool's command run on it; its wall time and its peak resident memory (the largest resident
set of the processes a small launcher waited for, experiments/peers/launch.py); its groups read from
its JSON, every pair inside a group called a duplicate, scored against the manifest's groups: pairs
found, precision, recall. Beside it, the equivalent harness method (fast engine, all pairs, the data
set's resize) at the threshold with the best F1 on the same data: what the same computation finds
when the threshold is chosen for the data rather than shipped with the tool. A peer whose
environment is not built, or that fails, is a `skipped` row with the reason, never a failed run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dupbench.methods import create_method
from experiments.data import Dataset
from experiments.data.images import ImageCache
from experiments.evaluation.metrics import pair_classification, pair_scores
from experiments.peers.catalog import PEERS, Peer
from experiments.peers.run import evaluate_peer, staged
from experiments.provenance import environment, now_utc
from experiments.reporting.render import render_peers
from experiments.reporting.sections import Section
from experiments.tables import upsert_rows

log = logging.getLogger("dupbench.peers")


def calibrated(name: str, images: ImageCache, cache: dict[str, dict[str, float]]) -> dict[str, float]:
    """The harness method at its best-F1 threshold on the same data (pair precision and recall)."""
    if not name:
        return {}
    if name not in cache:
        method = create_method(name)
        prepared = method.prepare_many(images.all_at_common_size())
        matrix = method.score_matrix(prepared, prepared, same=True)
        summary, _ = pair_classification(method, *pair_scores(method, matrix, images.dataset.groups))
        cache[name] = {
            "calibrated_threshold": summary["threshold_at_best_f1"],
            "calibrated_precision": summary["precision"],
            "calibrated_recall": summary["recall"],
            "equivalent_pair_ap": summary["ap"],
        }
    return cache[name]


def evaluate(peer: Peer, dataset: Dataset, folder: Path, timeout: float) -> dict[str, Any]:
    """The peer's columns of peers.csv: its run and its own pairs scored on the whole data set."""
    outcome = evaluate_peer(peer, dataset, timeout, folder=folder)
    if outcome["status"] != "ok":
        return {"status": outcome["status"]}
    return {
        "status": "ok",
        **{k: outcome[k] for k in ("version", "wall_s", "peak_rss_mib", "images_per_s")},
        **outcome["pairs_all"],
    }


def run(cfg: Mapping[str, Any], dataset: Dataset, out_dir: Path) -> pd.DataFrame:
    chosen = cfg["experiment"].get("only")
    peers = [p for p in PEERS if not chosen or p.name in chosen]
    images, cache = ImageCache(dataset, cfg.get("max_image_pixels")), {}
    env, rows = environment(), []
    with staged(dataset) as folder:
        for peer in peers:
            row = {
                "experiment": "peers",
                "dataset": dataset.name,
                "peer": peer.name,
                "method": peer.name,
                "tool": peer.name.split()[0],
                "environment": peer.environment.name,
                "python": peer.environment.python,
                "default_threshold": peer.default,
                "licence": peer.licence,
                "equivalent": peer.equivalent,
                "n_images": len(dataset.items),
                **evaluate(peer, dataset, folder, float(cfg["experiment"]["timeout_s"])),
            }
            row.update(calibrated(peer.equivalent, images, cache) if row["status"] == "ok" else {})
            row.update({"machine": env["machine"], "git_commit": env["git_commit"], "finished_at": now_utc()})
            rows.append(row)
            log.info(
                "%-26s %s",
                peer.name,
                row["status"]
                if row["status"] != "ok"
                else f"{row['wall_s']:.2f} s, peak {row['peak_rss_mib']:.0f} MiB, {row['pairs_found']} pairs, "
                f"precision {row['precision']:.3f}, recall {row['recall']:.3f}",
            )
            upsert_rows(out_dir / "peers.csv", [row], key="peer")
    return pd.read_csv(out_dir / "peers.csv")


SECTION = Section(table="peers.csv", render=render_peers, baseline=True)
