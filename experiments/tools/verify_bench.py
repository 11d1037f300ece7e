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
from experiments.provenance import git_commit, machine, now_utc
from experiments.reporting.sections import Entry, Section

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
    # The environment with the result: a baseline is promoted only from a clean commit (refuse_dirty).
    table = summary(rows).assign(git_commit=git_commit(), machine=machine(), finished_at=now_utc())
    table.to_csv(args.out / "summary.csv", index=False)
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(table[table.half == "report"].to_string(index=False))
    print(f"wrote {args.out / 'pairs.csv'} and {args.out / 'summary.csv'}")


FAMILIES = ("invoices", "settings", "charts", "products", "photos")
COPY_KINDS = {
    "jpeg50": "JPEG 50",
    "jpeg70": "JPEG 70",
    "jpeg95": "JPEG 95",
    "half": "half size",
    "messenger": "messenger (1024 px, JPEG 80)",
    "png": "PNG",
    "webp": "WebP",
    "crop5": "border crop 5 %",
    "crop10": "border crop 10 %",
    "crop20": "border crop 20 %",
    "window": "window capture",
    "grayscale": "grayscale",
    "caption": "caption along the top or bottom",
    "caption_middle": "caption across the middle",
    "watermark": "watermark (half-transparent, a corner)",
}
LOOKALIKES = {
    "next_number": "the next invoice number (one digit)",
    "other_date": "another date",
    "other_amount": "another amount due",
    "other_invoice": "another invoice of the template",
    "one_toggle": "one toggle flipped",
    "other_user": "another user's name",
    "one_point": "one point moved",
    "other_product": "another product on white",
    "other_view": "another view of the object (ukbench800)",
}


def passed(rows: pd.DataFrame) -> str:
    """'passed/pairs' of summary rows ('' where there are none)."""
    if rows.empty:
        return ""
    return f"{int(round((rows['pass_rate'] * rows['pairs']).sum()))}/{int(rows['pairs'].sum())}"


def rate(rows: pd.DataFrame) -> float:
    return float((rows["pass_rate"] * rows["pairs"]).sum() / rows["pairs"].sum())


def render_verify(table: pd.DataFrame, source: str) -> str:
    """The report half's copies passed and look-alikes accepted, per kind and family (summary.csv)."""
    report = table[table["half"] == "report"]
    copies = report[report["truth"] == "copy"]
    lines = ["Copies passed / pairs, report half:", "", "| copy type | " + " | ".join(FAMILIES) + " | all |"]
    lines.append("|---" * (len(FAMILIES) + 2) + "|")
    for kind, label in COPY_KINDS.items():
        rows = copies[copies["kind"] == kind]
        cells = [passed(rows[rows["family"] == family]) for family in FAMILIES]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {rate(rows):.2f} |")
    choose = table[(table["half"] == "choose") & (table["truth"] == "copy") & (table["kind"] != "watermark")]
    kept = copies[copies["kind"] != "watermark"]
    lines.append(
        f"| all but the watermark ({int(kept['pairs'].sum())} pairs) |" + " |" * len(FAMILIES)
        + f" {rate(kept):.3f} (the choose half: {rate(choose):.3f}) |"
    )  # fmt: skip
    lookalikes = report[report["truth"] != "copy"]
    lines += ["", "Look-alikes accepted / pairs, report half:", ""]
    lines += ["| look-alike | family | as drawn | its JPEG 70 | its half size |", "|---|---|---|---|---|"]
    for kind, label in LOOKALIKES.items():
        rows = lookalikes[lookalikes["kind"] == kind]
        family = rows["family"].iloc[0] if not rows.empty else ""
        variants = [passed(lookalikes[lookalikes["kind"] == f"{kind}{end}"]) for end in ("", "+jpeg70", "+half")]
        lines.append(f"| {label} | {family} | " + " | ".join(variants) + " |")
    lines += ["", f"From `{source}` (`python -m experiments.tools.verify_bench` writes `results/verify/summary.csv`)."]
    return "\n".join(lines)


ENTRY = Entry(
    key="verify",
    title="Verification: a copy or a look-alike (issue 39)",
    output="verify",
    section=Section(table="summary.csv", render=render_verify),
    per_dataset=False,
)


if __name__ == "__main__":
    main()
