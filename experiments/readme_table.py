"""The README's Experiment 1 table, drawn from the committed baseline CSV only.

`python -m experiments.readme_table` rewrites the block between the markers in README.md;
`--promote TABLE` first copies a fresh results table to the baseline (on purpose, never implicitly).
"""
from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pandas as pd

from .paths import REPO_ROOT

BASELINE = REPO_ROOT / "results" / "baselines" / "exp1-fruits360.csv"
README = REPO_ROOT / "README.md"
START, END = "<!-- exp1-table:start -->", "<!-- exp1-table:end -->"


def render(table: pd.DataFrame) -> str:
    lines = [
        "| method | variant | accuracy % (article) | accuracy % (all queries) | s/pair (article loop, mean) | s/pair (prepared once) | backbone |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for _, row in table.iterrows():
        backbone = row["backbone"] if isinstance(row["backbone"], str) and row["backbone"] else ""
        lines.append(
            f"| {row['method']} | {row['variant']} | {row['accuracy']:.2f} | {row['accuracy_all_queries']:.2f} "
            f"| {row['mean_s_per_pair']:.2e} | {row['prepared_s_per_pair']:.2e} | {backbone} |"
        )
    by_method = table.set_index("method")["mean_s_per_pair"]
    if {"cnn_cosine", "cosine"} <= set(by_method.index):
        lines.append("")
        lines.append(f"Per pair in the article's loop, `cnn_cosine` costs {by_method['cnn_cosine'] / by_method['cosine']:.0f}x "
                     f"`cosine` (the article reports about 250x with B0).")
    first = table.iloc[0]
    when = ", ".join(sorted({str(t)[:10] for t in table["finished_at"]}))
    lines.append("")
    lines.append(
        f"Measured on {first['machine']} ({int(first['torch_threads'])} torch threads), {when}, commit "
        f"{first['git_commit']}; data set {first['dataset']} ({int(first['n_images'])} images, "
        f"{int(first['n_references'])} references, {int(first['n_pairs'])} pairs, resize {first['resize']}). "
        f"Source: `{BASELINE.relative_to(REPO_ROOT)}`."
    )
    return "\n".join(lines)


def block(table: pd.DataFrame) -> str:
    return f"{START}\n{render(table)}\n{END}"


def current_block(readme_text: str) -> str | None:
    match = re.search(re.escape(START) + r".*?" + re.escape(END), readme_text, flags=re.S)
    return match.group(0) if match else None


def rewrite(readme: Path = README, baseline: Path = BASELINE) -> None:
    text = readme.read_text()
    if current_block(text) is None:
        raise SystemExit(f"{readme} has no {START} ... {END} block")
    new = block(pd.read_csv(baseline))
    readme.write_text(text.replace(current_block(text), new))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--promote", type=Path, help="copy this results table to the baseline first")
    args = parser.parse_args()
    if args.promote:
        BASELINE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.promote, BASELINE)
    rewrite()
    print(f"README table redrawn from {BASELINE.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
