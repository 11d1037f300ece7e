"""experiment=peers (`make peers-bench`): whole duplicate-finding tools run on a data set, each as its
own process in its own environment (experiments/peers/), beside the harness's own method for the
same computation at its calibrated threshold.

Per peer: the data set's files copied into a fresh folder (paths as in the manifest, nothing else
in it); the tool's command run on it; its wall time and its peak resident memory (os.wait4's
rusage of that process and the children it waited for); its groups read from its JSON, every pair
inside a group called a duplicate, scored against the manifest's groups: pairs found, precision,
recall. Beside it, the equivalent harness method (fast engine, all pairs, the data set's resize) at
the threshold with the best F1 on the same data: what the same computation finds when the
threshold is chosen for the data rather than shipped with the tool. A peer whose environment is not
built, or that fails, is a `skipped` row with the reason, never a failed run.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dupbench.methods import create_method
from experiments.data import Dataset
from experiments.data.images import ImageCache
from experiments.evaluation.metrics import pair_classification, pair_scores
from experiments.peers.catalog import PEERS, Peer
from experiments.provenance import environment, now_utc
from experiments.reporting.render import render_peers
from experiments.reporting.sections import Section
from experiments.tables import upsert_rows

log = logging.getLogger("dupbench.peers")


def stage(dataset: Dataset, folder: Path) -> None:
    """The data set's files, and nothing else, under `folder` with their manifest paths."""
    for item in dataset.items:
        target = folder / item.key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.path, target)


LAUNCHER = Path(__file__).resolve().parents[1] / "peers" / "launch.py"


def run_tool(command: list[str], timeout: float) -> tuple[str, float, float, str]:
    """stdout, wall seconds, peak RSS in MiB of the tool's process tree (through the launcher), stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "usage.json"
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-S", str(LAUNCHER), str(report), *command],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"no answer within {timeout:.0f} s") from None
        wall = time.perf_counter() - start
        if done.returncode:
            last = [line for line in done.stderr.strip().splitlines() if line.strip()][-1:] or [
                f"exit {done.returncode}"
            ]
            raise RuntimeError(f"exit {done.returncode}: {last[0][:300]}")
        usage = json.loads(report.read_text())
    return done.stdout, wall, usage["peak_rss_kib"] / 1024.0, done.stderr


def groups_of(answer: Mapping[str, Any]) -> list[list[str]]:
    """Groups from a peer's JSON: `groups`, or Immaculate's `exact` and `near`."""
    return [list(g) for key in ("groups", "exact", "near") for g in answer.get(key, [])]


def pairs_in(groups: list[list[str]], folder: Path) -> set[frozenset[str]]:
    def key(path: str) -> str:
        p = Path(path)
        return str(p.relative_to(folder) if p.is_absolute() else p)

    return {frozenset((key(a), key(b))) for group in groups for a, b in itertools.combinations(group, 2) if a != b}


def true_pairs(dataset: Dataset) -> set[frozenset[str]]:
    by_group: dict[str, list[str]] = {}
    for item in dataset.items:
        by_group.setdefault(item.group, []).append(item.key)
    return {frozenset(pair) for keys in by_group.values() for pair in itertools.combinations(keys, 2)}


def score_pairs(found: set[frozenset[str]], truth: set[frozenset[str]]) -> dict[str, float]:
    hits = len(found & truth)
    return {
        "pairs_found": len(found),
        "true_pairs": len(truth),
        "precision": hits / len(found) if found else float("nan"),
        "recall": hits / len(truth) if truth else float("nan"),
    }


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
    env = peer.environment
    if not env.ready.is_file():
        failed = env.folder / "FAILED"
        reason = failed.read_text().strip() if failed.is_file() else "environment not built: make peers"
        return {"status": f"skipped: {reason}"}
    try:
        stdout, wall, peak, _ = run_tool(peer.command(folder), timeout)
        answer = json.loads(stdout)
    except (OSError, RuntimeError, TimeoutError, json.JSONDecodeError) as problem:
        return {"status": f"failed: {problem}"}
    found = pairs_in(groups_of(answer), folder)
    return {
        "status": "ok",
        "version": answer.get("version") or env.packages[0].partition("==")[2],  # a pin where its JSON has none
        "wall_s": wall,
        "peak_rss_mib": peak,
        "images_per_s": len(dataset.items) / wall,
        **score_pairs(found, true_pairs(dataset)),
    }


def run(cfg: Mapping[str, Any], dataset: Dataset, out_dir: Path) -> pd.DataFrame:
    chosen = cfg["experiment"].get("only")
    peers = [p for p in PEERS if not chosen or p.name in chosen]
    images, cache = ImageCache(dataset, cfg.get("max_image_pixels")), {}
    env, rows = environment(), []
    with tempfile.TemporaryDirectory(prefix="dupbench-peers-") as tmp:
        folder = Path(tmp) / dataset.name
        stage(dataset, folder)
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
