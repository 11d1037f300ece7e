"""`make thresholds`: dupbench/finder/thresholds.json, what `dupbench find` ships, from the committed
benchmark tables (with the commit that measured them).

Source, the first that exists:
- results/baselines/kinds.csv (the multi-kind benchmark): per method, the rule and threshold fitted on
  every kind's calibration half, offered as calibrated only where it held 99 % pairwise precision on
  every kind's scored half; the default is the best mean recall among those that encode at least
  MIN_RATE images a second and can be searched by an index;
- results/baselines/field-ukbench800.csv: each method's `groups_p99` threshold (connected components),
  calibrated on one kind only.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from dupbench.files import atomic_write_text
from dupbench.methods import method_class
from experiments.evaluation.recommend import MIN_RATE, chosen_rows, default_method, offered_methods
from experiments.paths import BASELINES, REPO_ROOT

TARGET = REPO_ROOT / "dupbench" / "finder" / "thresholds.json"
RULE = "groups_p99"


def from_field(table: pd.DataFrame) -> dict:
    ok = table[(table["status"].astype(str) == "ok") & (table["kind"] == "method")]
    rows = ok[(ok["rule"] == RULE) & ok["threshold"].notna()]
    methods = {}
    for _, row in rows.iterrows():
        methods[row["method"]] = {
            "threshold": float(row["threshold"]),
            "grouping": "components",
            "normalise": "none",
            "decode": str(row["decode"]),
            "calibrated": True,
            "images_per_s": float(row["images_per_s"]),
            "summary": f"calibrated on {row['dataset']} ({RULE} rule, commit {row['git_commit']}): "
            f"precision {row['precision']:.3f}, recall {row['recall']:.3f} on its scored half",
        }
    ranked = ok.drop_duplicates("method").sort_values(["recall_at_p99", "pair_ap"], ascending=False)
    default = next(
        m
        for m, rate in zip(ranked["method"], ranked["images_per_s"])
        if rate >= MIN_RATE and method_class(m).index_kind is not None and m in methods
    )
    commit = str(rows["git_commit"].iloc[0])
    return {"default": default, "methods": methods, "source": {"table": "field-ukbench800.csv", "git_commit": commit}}


def held_on(rows: pd.DataFrame) -> str:
    """What a rule held on each kind's scored half, for `dupbench find --help`."""
    parts = []
    for _, row in rows.iterrows():
        precision = "no pair found" if pd.isna(row["precision"]) else f"precision {row['precision']:.3f}"
        parts.append(f"{row['data']} {precision}, recall {row['recall']:.3f}")
    return "; ".join(parts)


def recall_by_kind(rows: pd.DataFrame) -> dict[str, float]:
    scored = rows.dropna(subset=["recall"])
    return {str(kind): round(float(value), 3) for kind, value in zip(scored["data"], scored["recall"], strict=True)}


def from_kinds(table: pd.DataFrame) -> dict:
    fitted = table[(table["tool"] == "method") & (table["fit"] == "all kinds")]
    chosen = chosen_rows(table)
    methods = {}
    for _, row in chosen.iterrows():
        held = fitted[
            (fitted["method"] == row["method"])
            & (fitted["grouping"] == row["grouping"])
            & (fitted["normalise"] == row["normalise"])
        ]
        entry = {
            "threshold": float(row["threshold"]),
            "grouping": row["grouping"],
            "normalise": row["normalise"],
            "background_k": int(row["background_k"]),
            "prior": None if pd.isna(row["prior"]) else float(row["prior"]),
            "decode": str(row["decode"]),
            "calibrated": bool(row["held_everywhere"]),
            "images_per_s": float(row["images_per_s"]),
            "summary": f"{row['summary']} (scored halves: " + held_on(held) + f"; commit {row['git_commit']})",
            # Recall by kind on the scored halves: `dupbench find --help` names the kinds a rule misses.
            "recall": recall_by_kind(held),
        }
        if not entry["calibrated"]:
            entry["why"] = str(row["why_not"])
        methods[row["method"]] = entry
    default = default_method(table)
    if default is None:
        raise SystemExit("no method held 99 % precision on every kind at a usable speed: nothing to recommend")
    commit = str(chosen["git_commit"].iloc[0])
    return {
        "default": default,
        "offered": offered_methods(table),
        "methods": methods,
        "source": {"table": "kinds.csv", "git_commit": commit},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=TARGET)
    parser.add_argument("--kinds", type=Path, default=BASELINES / "kinds.csv", help="the multi-kind table")
    args = parser.parse_args()
    kinds, field = args.kinds, BASELINES / "field-ukbench800.csv"
    shipped = from_kinds(pd.read_csv(kinds)) if kinds.is_file() else from_field(pd.read_csv(field))
    for entry in shipped["methods"].values():
        entry["threshold"] = float(entry["threshold"]) if math.isfinite(entry["threshold"]) else None
    atomic_write_text(args.out, json.dumps(shipped, indent=1, sort_keys=True) + "\n")
    print(f"{args.out}: {len(shipped['methods'])} methods, default {shipped['default']} (from {shipped['source']})")


if __name__ == "__main__":
    main()
