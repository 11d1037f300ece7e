"""The README's result tables, each drawn from one committed baseline CSV only.

`python -m experiments.readme_table` rewrites every block between its markers in README.md;
`--promote` first copies the current results over the baselines (on purpose, never implicitly).
"""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .findings import article_conclusion, cnn_ratio, exp3_findings, matrix_findings, ranked
from .labels import with_labels
from .paths import REPO_ROOT

BASELINES = REPO_ROOT / "results" / "baselines"
README = REPO_ROOT / "README.md"
# Every page whose generated blocks `make readme-table` redraws: the README and docs/.
PAGES = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]


def markdown(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    """A markdown table of the given columns and formats; a CNN's method cell names its backbone."""
    frame = with_labels(frame)
    lines = ["| " + " | ".join(formats) + " |", "|" + "---|" * len(formats)]
    for _, row in frame.iterrows():
        cells = []
        for column, fmt in formats.items():
            value = row.get(column)
            cells.append("" if value is None or pd.isna(value) else format(value, fmt) if fmt else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_retrieval(table: pd.DataFrame, source: str) -> str:
    fast = "engine" in table and (table["engine"] == "fast").all()
    timing = (
        "s/pair (fast engine: whole run / pairs) | s/pair (scoring only)"
        if fast
        else "s/pair (article loop, mean) | s/pair (prepared once)"
    )
    lines = [
        f"| method | variant | accuracy % (article) | accuracy % (all queries) | mAP | pair AP | {timing} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for _, row in with_labels(table).iterrows():
        lines.append(
            f"| {row['method']} | {row['variant']} | {row['accuracy']:.2f} | {row['accuracy_all_queries']:.2f} "
            f"| {row['map']:.3f} | {row['pair_ap']:.3f} "
            f"| {row['mean_s_per_pair']:.2e} | {row['prepared_s_per_pair']:.2e} |"
        )
    if not fast and cnn_ratio(table):
        lines += ["", cnn_ratio(table)]
    lines += ["", article_conclusion(table)]
    first = table.iloc[0]
    lines.append("")
    lines.append(
        f"Measured on {first['machine']} ({int(first['torch_threads'])} torch threads), {dates(table)}, commit "
        f"{first['git_commit']}; data set {first['dataset']} ({int(first['n_images'])} images, "
        f"{int(first['n_references'])} references, {int(first['n_pairs'])} pairs, resize {first['resize']}). "
        f"Source: `{source}`."
    )
    return "\n".join(lines)


def render_cnn_timing(table: pd.DataFrame, source: str) -> str:
    """The CNN against pixel cosine per pair, autograd on (the article) and off, Lite0 and B0."""
    shown = table.assign(weights=table["weights"].map(lambda w: "pretrained" if len(str(w)) == 64 else str(w)))
    lines = [
        markdown(
            shown, {"method": "", "weights": "", "autograd": "", "mean_s_per_pair": ".2e", "ratio_to_cosine": ".1f"}
        )
    ]
    on = with_labels(table[(table["autograd"] == "on") & table["method"].str.startswith("cnn_")]).set_index("method")
    if not on.empty:
        lines += [
            "",
            f"With autograd on, as the article ran it, per pair against `cosine`: "
            f"{ranked(on['ratio_to_cosine'], '.0f')} (x); the article reports about 250x with B0.",
        ]
        cosine = on[on.index.str.startswith("cnn_cosine")]
        lite, b0 = cosine[cosine.index.str.contains("Lite0")], cosine[cosine.index.str.contains("B0")]
        if not lite.empty and not b0.empty:
            lite_r, b0_r = float(lite["ratio_to_cosine"].iloc[0]), float(b0["ratio_to_cosine"].iloc[0])
            lines[-1] += (
                f" B0 costs {b0_r / lite_r:.2f}x Lite0 here, so of the gap from Lite0's {lite_r:.0f}x "
                f"to 250x, B0 closes {100 * (b0_r - lite_r) / (250 - lite_r):.0f} %; the rest is the "
                f"machine (CPU, threads, library versions), not the architecture."
            )
    first = table.iloc[0]
    lines += [
        "",
        f"{int(first['pairs_timed'])} pairs of the protocol on {first['dataset']} at {first['resize']}, "
        f"median of {int(first['rounds'])} interleaved rounds; measured on {first['machine']} "
        f"({int(first['torch_threads'])} torch threads), {dates(table)}, commit {first['git_commit']}. "
        f"B0 rows with `random-init` weights time the architecture only. Source: `{source}`.",
    ]
    return "\n".join(lines)


def render_bench_scale(table: pd.DataFrame, source: str) -> str:
    small = table[table["part"] == "article_vs_fast"]
    big = table[table["part"] == "scale"]
    lines = [
        markdown(
            small,
            {
                "method": "",
                "n": ".0f",
                "article_s_per_pair": ".2e",
                "fast_s_per_pair": ".2e",
                "speedup": ".1f",
                "total_over_floor": ".2f",
                "status": "",
            },
        ),
        "",
        markdown(
            big,
            {
                "method": "",
                "n": ".0f",
                "status": "",
                "prepare_s": ".2f",
                "search_s": ".2f",
                "total_s": ".2f",
                "peak_rss_mib": ".0f",
                "predicted_s": ".0f",
            },
        ),
    ]
    first = table.iloc[0]
    lines += [
        "",
        f"Measured on {first['machine']} ({int(first['torch_threads'])} torch threads), {dates(table)}, "
        f"commit {first['git_commit']}. Source: `{source}`.",
    ]
    return "\n".join(lines)


def render_breaking_points(matrix: pd.DataFrame, source: str) -> str:
    """Per method and family: the mildest severity at which recall@1 first drops below 1."""
    families = [f for f in dict.fromkeys(matrix["family"]) if f != "identity"]
    lines = ["| method | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]
    for method, rows in with_labels(matrix).groupby("method", sort=False):
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
    lines.append(
        f"Each cell: the mildest severity at which recall@1 drops below 1, with the recall there; `-` = "
        f"recall 1 at every severity (for one-severity families, the recall itself). {int(first['n'])} base "
        f"images of {first['dataset']}, seed {int(first['seed'])}; measured on {first['machine']}, "
        f"{dates(matrix)}, commit {first['git_commit']}. Source: `{source}`."
    )
    lines += ["", matrix_findings(matrix)]
    return "\n".join(lines)


def render_exp3(table: pd.DataFrame, source: str) -> str:
    lines = [
        "| implementation | input | median us/call | p5-p95 us | ratio to scipy: median (p5-p95) | true distance |",
        "|---|---|---:|---:|---:|---|",
    ]
    for _, row in table.iterrows():
        truth = (
            "yes"
            if row["equals_true_distance"]
            else f"no: wraps (max relative difference {row['max_rel_diff_vs_true']:.0f})"
        )
        lines.append(
            f"| {row['implementation']} | {row['input']} | {row['median_s'] * 1e6:.1f} | "
            f"{row['p5_s'] * 1e6:.1f}-{row['p95_s'] * 1e6:.1f} | {row['ratio_to_scipy_median']:.3f} "
            f"({row['ratio_to_scipy_p5']:.3f}-{row['ratio_to_scipy_p95']:.3f}) | {truth} |"
        )
    first = table.iloc[0]
    lines.append("")
    lines.append(
        f"{int(first['n_calls'])} calls each on {first['dataset']} images of {first['resize']}; measured on "
        f"{first['machine']} (BLAS {first['blas']}), {dates(table)}, commit {first['git_commit']}. "
        f"Source: `{source}`."
    )
    lines += ["", exp3_findings(table)]
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
        return (
            f"<!-- {self.marker}:start -->\n{self.render(pd.read_csv(self.path), source)}\n<!-- {self.marker}:end -->"
        )


BLOCKS = [
    Block("exp1-table", "exp1-fruits360.csv", "results/exp1/fruits360/table.csv", render_retrieval),
    Block("exp2-table", "exp2-ukbench.csv", "results/exp2/ukbench/table.csv", render_retrieval),
    Block(
        "transforms-table",
        "exp2-transforms-embedded.csv",
        "results/exp2/transforms/embedded/matrix.csv",
        render_breaking_points,
    ),
    Block("exp3-table", "exp3-fruits360.csv", "results/exp3/fruits360/table.csv", render_exp3),
    Block("cnn-timing-table", "cnn-timing.csv", "results/bench-cnn/cnn_timing.csv", render_cnn_timing),
    Block("bench-scale-table", "bench-scale.csv", "results/bench-scale/scale.csv", render_bench_scale),
]


def refuse_dirty(fresh: Path) -> None:
    """A baseline is a measurement of committed code: a table from a work tree with uncommitted
    changes (git_commit ending in -dirty) is never promoted."""
    commits = set(pd.read_csv(fresh)["git_commit"].astype(str)) if fresh.is_file() else set()
    dirty = sorted(c for c in commits if c.endswith("-dirty") or c == "unknown")
    if dirty:
        raise SystemExit(
            f"not promoted: {fresh} was measured at {', '.join(dirty)} (uncommitted changes); "
            "commit, rerun, then promote"
        )


def current_block(readme_text: str, marker: str) -> str | None:
    match = re.search(rf"<!-- {marker}:start -->.*?<!-- {marker}:end -->", readme_text, flags=re.S)
    return match.group(0) if match else None


def pages_with(marker: str) -> list[Path]:
    return [page for page in PAGES if page.is_file() and f"<!-- {marker}:start -->" in page.read_text()]


def rewrite() -> list[str]:
    """Redraw every block in every page that carries its markers; a block in no page is an error."""
    done = []
    for block in BLOCKS:
        pages = pages_with(block.marker)
        if not pages:
            raise SystemExit(f"no page has a <!-- {block.marker}:start --> ... end block")
        if not block.path.is_file():
            continue
        for page in pages:
            text = page.read_text()
            page.write_text(text.replace(current_block(text, block.marker), block.text()))
        done.append(block.marker)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--promote", action="store_true", help="copy the current results over the baselines first")
    args = parser.parse_args()
    if args.promote:
        for block in BLOCKS:
            fresh = REPO_ROOT / block.results
            if fresh.is_file():
                refuse_dirty(fresh)
                block.path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(fresh, block.path)
                print(f"promoted {block.results} -> {block.path.relative_to(REPO_ROOT)}")
    print(f"README blocks redrawn from results/baselines/: {', '.join(rewrite())}")


if __name__ == "__main__":
    main()
