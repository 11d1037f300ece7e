"""The README's result tables, each drawn from one committed baseline CSV only.

`python -m experiments.readme_table` rewrites every block between its markers in README.md;
`--promote` first copies the current results over the baselines (on purpose, never implicitly).
"""
from __future__ import annotations

import argparse
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from .paths import REPO_ROOT

BASELINES = REPO_ROOT / "results" / "baselines"
README = REPO_ROOT / "README.md"


def render_retrieval(table: pd.DataFrame, source: str) -> str:
    fast = "engine" in table and (table["engine"] == "fast").all()
    timing = ("s/pair (fast engine: whole run / pairs) | s/pair (scoring only)" if fast
              else "s/pair (article loop, mean) | s/pair (prepared once)")
    lines = [
        f"| method | variant | accuracy % (article) | accuracy % (all queries) | mAP | pair AP | {timing} | backbone |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for _, row in table.iterrows():
        backbone = row["backbone"] if isinstance(row["backbone"], str) and row["backbone"] else ""
        lines.append(
            f"| {row['method']} | {row['variant']} | {row['accuracy']:.2f} | {row['accuracy_all_queries']:.2f} "
            f"| {row['map']:.3f} | {row['pair_ap']:.3f} "
            f"| {row['mean_s_per_pair']:.2e} | {row['prepared_s_per_pair']:.2e} | {backbone} |"
        )
    by_method = table.set_index("method")["mean_s_per_pair"]
    if {"cnn_cosine", "cosine"} <= set(by_method.index) and not fast:
        lines.append("")
        lines.append(f"Per pair in the article's loop, `cnn_cosine` costs {by_method['cnn_cosine'] / by_method['cosine']:.0f}x "
                     f"`cosine` at this size.")
    first = table.iloc[0]
    lines.append("")
    lines.append(
        f"Measured on {first['machine']} ({int(first['torch_threads'])} torch threads), {dates(table)}, commit "
        f"{first['git_commit']}; data set {first['dataset']} ({int(first['n_images'])} images, "
        f"{int(first['n_references'])} references, {int(first['n_pairs'])} pairs, resize {first['resize']}). "
        f"Source: `{source}`."
    )
    return "\n".join(lines)


def render_breaking_points(matrix: pd.DataFrame, source: str) -> str:
    """Per method and family: the mildest severity at which recall@1 first drops below 1."""
    families = [f for f in dict.fromkeys(matrix["family"]) if f != "identity"]
    lines = ["| method | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]
    for method, rows in matrix.groupby("method", sort=False):
        cells = []
        for family in families:
            cell = rows[rows["family"] == family]
            misses = cell[cell["recall"] < 1]
            if misses.empty:
                cells.append("-")
            elif len(cell) == 1:
                cells.append(f"{misses['recall'].iloc[0]:.2f}")
            else:
                worst = misses.iloc[0]
                cells.append(f"{worst['severity']:g} ({worst['recall']:.2f})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    first = matrix.iloc[0]
    lines.append("")
    lines.append(f"Each cell: the mildest severity at which recall@1 drops below 1, with the recall there; `-` = "
                 f"recall 1 at every severity (for one-severity families, the recall itself). {int(first['n'])} base "
                 f"images of {first['dataset']}, seed {int(first['seed'])}; measured on {first['machine']}, "
                 f"{dates(matrix)}, commit {first['git_commit']}. Source: `{source}`.")
    return "\n".join(lines)


def render_exp3(table: pd.DataFrame, source: str) -> str:
    lines = ["| implementation | input | median us/call | p5-p95 us | ratio to scipy: median (p5-p95) | true distance |",
             "|---|---|---:|---:|---:|---|"]
    for _, row in table.iterrows():
        truth = "yes" if row["equals_true_distance"] else f"no: wraps (max relative difference {row['max_rel_diff_vs_true']:.0f})"
        lines.append(f"| {row['implementation']} | {row['input']} | {row['median_s'] * 1e6:.1f} | "
                     f"{row['p5_s'] * 1e6:.1f}-{row['p95_s'] * 1e6:.1f} | {row['ratio_to_scipy_median']:.3f} "
                     f"({row['ratio_to_scipy_p5']:.3f}-{row['ratio_to_scipy_p95']:.3f}) | {truth} |")
    first = table.iloc[0]
    lines.append("")
    lines.append(f"{int(first['n_calls'])} calls each on {first['dataset']} images of {first['resize']}; measured on "
                 f"{first['machine']} (BLAS {first['blas']}), {dates(table)}, commit {first['git_commit']}. "
                 f"Source: `{source}`.")
    return "\n".join(lines)


def dates(table: pd.DataFrame) -> str:
    return ", ".join(sorted({str(t)[:10] for t in table["finished_at"]}))


@dataclass(frozen=True)
class Block:
    marker: str
    baseline: str  # file name under results/baselines/
    results: str  # where `make` leaves the fresh table, relative to the repository
    render: Callable[[pd.DataFrame, str], str]

    @property
    def path(self) -> Path:
        return BASELINES / self.baseline

    def text(self) -> str:
        source = str(self.path.relative_to(REPO_ROOT))
        return f"<!-- {self.marker}:start -->\n{self.render(pd.read_csv(self.path), source)}\n<!-- {self.marker}:end -->"


BLOCKS = [
    Block("exp1-table", "exp1-fruits360.csv", "results/exp1/fruits360/table.csv", render_retrieval),
    Block("exp2-table", "exp2-ukbench.csv", "results/exp2/ukbench/table.csv", render_retrieval),
    Block("transforms-table", "exp2-transforms-embedded.csv", "results/exp2/transforms/embedded/matrix.csv",
          render_breaking_points),
    Block("exp3-table", "exp3-fruits360.csv", "results/exp3/fruits360/table.csv", render_exp3),
]


def current_block(readme_text: str, marker: str) -> str | None:
    match = re.search(rf"<!-- {marker}:start -->.*?<!-- {marker}:end -->", readme_text, flags=re.S)
    return match.group(0) if match else None


def rewrite(readme: Path = README) -> list[str]:
    text, done = readme.read_text(), []
    for block in BLOCKS:
        old = current_block(text, block.marker)
        if old is None:
            raise SystemExit(f"{readme} has no <!-- {block.marker}:start --> ... end block")
        if block.path.is_file():
            text = text.replace(old, block.text())
            done.append(block.marker)
    readme.write_text(text)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--promote", action="store_true", help="copy the current results over the baselines first")
    args = parser.parse_args()
    if args.promote:
        for block in BLOCKS:
            fresh = REPO_ROOT / block.results
            if fresh.is_file():
                block.path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(fresh, block.path)
                print(f"promoted {block.results} -> {block.path.relative_to(REPO_ROOT)}")
    print(f"README blocks redrawn from results/baselines/: {', '.join(rewrite())}")


if __name__ == "__main__":
    main()
