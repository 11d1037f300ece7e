"""`make report`: results/REPORT.md, every table and plot of the results that exist, from their CSVs
and PNGs only (nothing is rerun). Where an experiment has no run output here, its committed baseline
table stands in (said so in its section) and its plot is redrawn from that CSV.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from . import plots
from .environment import now_utc
from .findings import exp3_findings, matrix_findings, names, tied_best
from .labels import with_labels
from .paths import REPO_ROOT
from .readme_table import (
    BASELINES,
    dates,
    markdown,
    render_bench_scale,
    render_breaking_points,
    render_cnn_timing,
    render_exp3,
    render_retrieval,
)
from .results import atomic_write_text

TITLES = {
    "exp1": "Experiment 1: speed and accuracy",
    "exp2": "Experiment 2: multi-view photos",
    "exp1-fast": "Experiment 1, fast engine",
    "exp2-fast": "Experiment 2, fast engine",
    "bench-scale": "Fast engine against the article's loop, and at scale",
    "transforms": "Experiment 2, controlled: the transform matrix",
    "exp3": "Experiment 3: scipy vs numpy",
    "calibrate": "Threshold calibration and grouping",
}


# --- findings: one or two sentences each, computed from the table in front of the reader ----------


def retrieval_findings(table: pd.DataFrame) -> str:
    by = with_labels(table).set_index("method")
    if by["pair_ap"].isna().all():
        return "No pair AP in this table (older version); see the accuracy column."
    best, worst = tied_best(by["pair_ap"], decimals=3), tied_best(by["pair_ap"], higher=False, decimals=3)
    fast, slow = by["mean_s_per_pair"].idxmin(), by["mean_s_per_pair"].idxmax()
    perfect = sorted(by.index[by["accuracy"] >= 100])
    where = "With the fast engine" if "engine" in by and (by["engine"] == "fast").all() else "In the article's loop"
    text = (
        f"Best at separating duplicates from the rest: {names(best)} (pair AP {by.loc[best[0], 'pair_ap']:.3f}); "
        f"worst: {names(worst)} ({by.loc[worst[0], 'pair_ap']:.3f}). {where} {slow} costs "
        f"{by.loc[slow, 'mean_s_per_pair'] / by.loc[fast, 'mean_s_per_pair']:.0f}x {fast} per pair"
    )
    return text + (f"; {len(perfect)} of {len(by)} methods reach 100 % article accuracy." if perfect else ".")


def threshold_findings(thresholds: pd.DataFrame) -> str:
    good = thresholds[thresholds["best_f1"] >= 0.95]
    by = with_labels(thresholds).set_index("method")
    top = tied_best(by["best_f1"], decimals=3)
    p99 = int(thresholds["threshold_at_p99"].notna().sum())
    return (
        f"At its best-F1 threshold {len(good)} of {len(thresholds)} methods reach F1 >= 0.95 (best: {names(top)}, "
        f"F1 {by.loc[top[0], 'best_f1']:.3f}); {p99} of {len(thresholds)} have a threshold with 99 % precision."
    )


def calibration_findings(table: pd.DataFrame) -> str:
    chosen = with_labels(table[table["rule"] == "best_f1"].dropna(subset=["pairwise_f1"])).set_index("method")
    best = tied_best(chosen["pairwise_f1"], decimals=3)
    text = (
        f"Grouping at each method's best-F1 threshold: best {names(best)} (pairwise F1 "
        f"{chosen.loc[best[0], 'pairwise_f1']:.3f})."
    )
    given = with_labels(table[table["rule"].astype(str).str.startswith("given")])
    if not given.empty:
        joined = given.set_index("method")["pairwise_f1"] - chosen["pairwise_f1"]
        text += (
            f" Thresholds carried over from another data set change pairwise F1 by {joined.min():+.3f} "
            f"to {joined.max():+.3f}."
        )
    return text


def bench_findings(table: pd.DataFrame) -> str:
    small = table[(table["part"] == "article_vs_fast") & (table["status"] == "ok")]
    big = table[(table["part"] == "scale") & (table["status"] == "ok")]
    text = ""
    if not small.empty:
        text += (
            f"Per pair at N={int(small['n'].iloc[0])} the fast engine is {small['speedup'].min():.1f}x "
            f"({small.loc[small['speedup'].idxmin(), 'method']}) to {small['speedup'].max():.0f}x "
            f"({small.loc[small['speedup'].idxmax(), 'method']}) faster than the article's loop. "
        )
    if not big.empty:
        top = big.loc[big["n"].idxmax()]
        text += (
            f"Largest N run: {int(top['n'])} ({top['method']}, {top['total_s']:.1f} s); highest peak memory "
            f"{big['peak_rss_mib'].max():.0f} MiB."
        )
    return text or "No cell finished."


def bench_section(report: Report, csv: Path) -> None:
    table = pd.read_csv(csv)
    report.section(TITLES["bench-scale"], csv)
    report.parts.append(render_bench_scale(table, report.link(csv)))
    report.findings(bench_findings(with_labels(table)))
    report.image(csv.with_name("scale.png"), "speed-up per pair and time against N")


# --- sections ------------------------------------------------------------------------------------


class Report:
    def __init__(self, results: Path, out: Path) -> None:
        self.results, self.out, self.parts = results, out, []

    def link(self, path: Path) -> str:
        return os.path.relpath(path, self.out.parent)

    def image(self, path: Path, caption: str) -> None:
        if path.is_file():
            self.parts.append(f"![{caption}]({self.link(path)})")

    def section(self, title: str, csv: Path, note: str = "") -> None:
        self.parts.append(f"## {title}\n\nSource: `{self.link(csv)}`{note}.")

    def findings(self, text: str) -> None:
        self.parts.append(f"**Findings.** {text}")


RETRIEVAL_COLUMNS = ("accuracy_all_queries", "map", "pair_ap", "prepared_s_per_pair", "backbone")


def retrieval_section(report: Report, experiment: str, csv: Path, table: pd.DataFrame, baseline: bool) -> None:
    out_dir = csv.parent
    missing = [c for c in RETRIEVAL_COLUMNS if c not in table]
    if missing:  # written by an older version: shown as it is, with a note on how to refresh it
        report.parts.append(
            f"This table predates the columns {', '.join(missing)} (nan below); "
            f"rerun with `ARGS=force=true` to fill them."
        )
        table = table.assign(**{c: float("nan") for c in missing})
    report.parts.append(render_retrieval(table, report.link(csv)))  # the file itself: a baseline is not table.csv
    report.findings(retrieval_findings(table))
    thresholds = out_dir / "thresholds.csv"
    if thresholds.is_file():
        frame = pd.read_csv(thresholds)
        if "backbone" not in frame:
            frame = frame.merge(table[["method", "backbone"]], on="method", how="left")
        report.parts.append(
            "Pair classification (every pair; same group = positive), thresholds in each method's "
            "own units:\n\n"
            + markdown(
                frame,
                {
                    "method": "",
                    "direction": "",
                    "auc": ".3f",
                    "ap": ".3f",
                    "best_f1": ".3f",
                    "threshold_at_best_f1": ".6g",
                    "precision": ".3f",
                    "recall": ".3f",
                    "threshold_at_p99": ".6g",
                },
            )
        )
        report.findings(threshold_findings(frame))
    plot = {"exp1": "table1.png", "exp2": "table2.png"}.get(experiment.removesuffix("-fast"), f"{experiment}.png")
    if baseline:
        redrawn = report.out.parent / "report" / f"{experiment}-{table['dataset'].iloc[0]}.png"
        plots.speed_accuracy(table, redrawn)
        report.image(redrawn, "speed vs accuracy (redrawn from the baseline)")
    else:
        report.image(out_dir / plot, "speed vs accuracy")
        report.image(out_dir / "pr.png", "precision-recall of pairs")


def sources(outputs: list[Path], baselines: list[Path]) -> list[tuple[Path, bool]]:
    """The run outputs where there are any, else the committed baselines (flagged True)."""
    return [(path, False) for path in sorted(outputs)] or [(path, True) for path in sorted(baselines)]


def build(results: Path, out: Path) -> list[str]:
    report = Report(results, out)
    seen: list[str] = []
    for experiment in ("exp1", "exp2", "exp1-fast", "exp2-fast"):
        baselines = (
            []
            if experiment.endswith("-fast")
            else [b for b in BASELINES.glob(f"{experiment}-*.csv") if not b.stem.startswith(f"{experiment}-transforms")]
        )
        for csv, baseline in sources(list((results / experiment).glob("*/table.csv")), baselines):
            table = pd.read_csv(csv)
            dataset = table["dataset"].iloc[0]
            report.section(
                f"{TITLES[experiment]} ({dataset})",
                csv,
                " (committed baseline: no run output under results/ here)" if baseline else "",
            )
            retrieval_section(report, experiment, csv, table, baseline)
            seen.append(f"{experiment}/{dataset}")
    for csv, baseline in sources(
        list((results / "exp2" / "transforms").glob("*/matrix.csv")), list(BASELINES.glob("exp2-transforms-*.csv"))
    ):
        matrix = pd.read_csv(csv)
        dataset = matrix["dataset"].iloc[0]
        report.section(f"{TITLES['transforms']} ({dataset})", csv, " (committed baseline)" if baseline else "")
        report.parts.append(render_breaking_points(matrix, report.link(csv)))
        report.findings(matrix_findings(matrix))
        image = csv.with_name("matrix.png")
        if baseline:
            image = report.out.parent / "report" / f"transforms-{dataset}.png"
            plots.transform_heatmap(matrix, image)
        report.image(image, "recall@1 per transform and severity")
        seen.append(f"transforms/{dataset}")
    for csv, baseline in sources(list((results / "exp3").glob("*/table.csv")), list(BASELINES.glob("exp3-*.csv"))):
        table = pd.read_csv(csv)
        report.section(
            f"{TITLES['exp3']} ({table['dataset'].iloc[0]})", csv, " (committed baseline)" if baseline else ""
        )
        report.parts.append(render_exp3(table, report.link(csv)))
        report.findings(exp3_findings(table))
        report.image(csv.with_name("table3.png"), "time per call")
        report.image(csv.with_name("sweep.png"), "size sweep")
        seen.append(f"exp3/{table['dataset'].iloc[0]}")
    for csv in sorted((results / "calibrate").glob("*/calibration.csv")):
        table = pd.read_csv(csv)
        dataset = table["dataset"].iloc[0]
        report.section(f"{TITLES['calibrate']} ({dataset})", csv)
        report.parts.append(
            markdown(
                table,
                {
                    "method": "",
                    "rule": "",
                    "threshold": ".6g",
                    "pair_precision": ".3f",
                    "pair_recall": ".3f",
                    "pairwise_precision": ".3f",
                    "pairwise_recall": ".3f",
                    "pairwise_f1": ".3f",
                    "n_clusters": ".0f",
                    "n_groups": ".0f",
                },
            )
        )
        report.parts.append(
            f"Measured on {table['machine'].iloc[0]}, {dates(table)}, commit "
            f"{table['git_commit'].iloc[0]}. Snippets: `{report.link(csv.parent / 'thresholds')}/`."
        )
        report.findings(calibration_findings(table))
        seen.append(f"calibrate/{dataset}")
    for name, render, title in (
        ("bench-scale", None, None),
        ("cnn-timing", render_cnn_timing, "The CNN's cost against pixel cosine, autograd on and off"),
    ):
        run_csv = results / name / "scale.csv" if name == "bench-scale" else results / "bench-cnn" / "cnn_timing.csv"
        found = sources([run_csv] if run_csv.is_file() else [], [p for p in [BASELINES / f"{name}.csv"] if p.is_file()])
        for csv, baseline in found:
            if render is None:
                bench_section(report, csv)
            else:
                report.section(title, csv, " (committed baseline)" if baseline else "")
                report.parts.append(render(pd.read_csv(csv), report.link(csv)))
            seen.append(name)
    head = (
        f"# dupbench report\n\nBuilt {now_utc()} by `make report` from the result files under "
        f"`{report.link(results)}/` only (nothing was rerun). Each section names its source, and each table the "
        f"machine, dates and commit of its run. Sections: {', '.join(seen) or 'none (run make exp1 first)'}."
    )
    atomic_write_text(out, "\n\n".join([head, *report.parts]) + "\n")
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "results")
    parser.add_argument("--out", type=Path, default=None, help="default: <results>/REPORT.md")
    args = parser.parse_args()
    out = args.out or args.results / "REPORT.md"
    seen = build(args.results.resolve(), out.resolve())
    print(f"{out}: {len(seen)} sections ({', '.join(seen)})")


if __name__ == "__main__":
    main()
