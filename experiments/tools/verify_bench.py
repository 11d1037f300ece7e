"""Measure dupbench.verify on experiments/data/lookalikes.py's pairs (issue 39, point 2).

    .venv/bin/python -m experiments.tools.verify_bench [--per-family 10] [--photos 20]

Writes results/verify/pairs.csv (one row a pair: what the verifier saw and decided, its wall and
CPU time, and the CPU time of the two images' keypoints alone)
and results/verify/summary.csv (per half, family and kind: pairs, pass rate, median and 90th
percentile CPU ms), and prints the report half's summary. Even-numbered originals chose the rule's
constants; odd-numbered ones report it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dupbench.verify import as_rgb, keypoints, luminance, verify
from experiments.data.lookalikes import pairs
from experiments.paths import REPO_ROOT

UKBENCH = REPO_ROOT.parent / "shared" / "datasets" / "ukbench800"


def measure(per_family: int, photos: int) -> pd.DataFrame:
    rows = []
    source = UKBENCH if UKBENCH.is_dir() and photos else None
    for pair in pairs(per_family, photos, ukbench=source):
        a, b = as_rgb(pair.a), as_rgb(pair.b)
        wall, cpu = time.perf_counter(), time.process_time()
        verdict = verify(a, b)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        # The keypoints alone (a finder computes them once per image, not once per pair).
        alone = time.process_time()
        keypoints(luminance(a)), keypoints(luminance(b))
        alone = time.process_time() - alone
        rows.append(
            {
                "half": pair.half,
                "family": pair.family,
                "number": pair.number,
                "kind": pair.kind,
                "truth": "copy" if pair.copy else "look-alike",
                "passed": verdict.copy,
                "inliers": verdict.inliers,
                "contained": verdict.contained,
                "largest_box_diff": verdict.largest_box_diff,
                "differing_boxes": verdict.differing_boxes,
                "reason": verdict.reason,
                "ms_wall": round(wall * 1000, 1),
                "ms_cpu": round(cpu * 1000, 1),
                "ms_cpu_keypoints": round(alone * 1000, 1),
                "pixels": a.shape[0] * a.shape[1] + b.shape[0] * b.shape[1],
            }
        )
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    grouped = rows.groupby(["half", "truth", "kind", "family"], sort=True)
    return grouped.agg(
        pairs=("passed", "size"),
        pass_rate=("passed", "mean"),
        ms_cpu_median=("ms_cpu", "median"),
        ms_cpu_p90=("ms_cpu", lambda ms: float(np.percentile(ms, 90))),
        ms_cpu_keypoints_median=("ms_cpu_keypoints", "median"),
        ms_wall_median=("ms_wall", "median"),
        box_diff_median=("largest_box_diff", "median"),
    ).reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=10)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "verify")
    args = parser.parse_args()
    rows = measure(args.per_family, args.photos)
    args.out.mkdir(parents=True, exist_ok=True)
    rows.to_csv(args.out / "pairs.csv", index=False)
    table = summary(rows)
    table.to_csv(args.out / "summary.csv", index=False)
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(table[table.half == "report"].to_string(index=False))
    print(f"wrote {args.out / 'pairs.csv'} and {args.out / 'summary.csv'}")


if __name__ == "__main__":
    main()
