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
from .paths import REPO_ROOT
from .readme_table import BASELINES, dates, render_breaking_points, render_exp3, render_retrieval
from .results import atomic_write_text

TITLES = {"exp1": "Experiment 1: speed and accuracy", "exp2": "Experiment 2: multi-view photos",
          "exp1-fast": "Experiment 1, fast engine", "exp2-fast": "Experiment 2, fast engine",
          "bench-scale": "Fast engine against the article's loop, and at scale",
          "transforms": "Experiment 2, controlled: the transform matrix", "exp3": "Experiment 3: scipy vs numpy",
          "calibrate": "Threshold calibration and grouping"}


def markdown(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    lines = ["| " + " | ".join(formats) + " |", "|" + "---|" * len(formats)]
    for _, row in frame.iterrows():
        cells = []
        for column, fmt in formats.items():
            value = row.get(column)
            cells.append("" if pd.isna(value) else format(value, fmt) if fmt else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- findings: one or two sentences each, computed from the table in front of the reader ----------

def retrieval_findings(table: pd.DataFrame) -> str:
    by = table.set_index("method")
    if by["pair_ap"].isna().all():
        return "No pair AP in this table (older version); see the accuracy column."
    best, worst = by["pair_ap"].idxmax(), by["pair_ap"].idxmin()
    fast, slow = by["mean_s_per_pair"].idxmin(), by["mean_s_per_pair"].idxmax()
    perfect = sorted(by.index[by["accuracy"] >= 100])
    where = "With the fast engine" if "engine" in by and (by["engine"] == "fast").all() else "In the article's loop"
    text = (f"Best at separating duplicates from the rest: {best} (pair AP {by.loc[best, 'pair_ap']:.3f}); worst: "
            f"{worst} ({by.loc[worst, 'pair_ap']:.3f}). {where} {slow} costs "
            f"{by.loc[slow, 'mean_s_per_pair'] / by.loc[fast, 'mean_s_per_pair']:.0f}x {fast} per pair")
    return text + (f"; {len(perfect)} of {len(by)} methods reach 100 % article accuracy." if perfect else ".")


def threshold_findings(thresholds: pd.DataFrame) -> str:
    good = thresholds[thresholds["best_f1"] >= 0.95]
    top = thresholds.loc[thresholds["best_f1"].idxmax()]
    p99 = int(thresholds["threshold_at_p99"].notna().sum())
    return (f"At its best-F1 threshold {len(good)} of {len(thresholds)} methods reach F1 >= 0.95 (best: {top['method']}, "
            f"F1 {top['best_f1']:.3f} at {top['threshold_at_best_f1']:.6g}); {p99} of {len(thresholds)} have a "
            f"threshold with 99 % precision.")


def matrix_findings(matrix: pd.DataFrame) -> str:
    cells = matrix[matrix["family"] != "identity"]
    broken = (cells["recall"] < 1).groupby(cells["method"], sort=False).sum()
    robust = [m for m, n in broken.items() if n == 0]
    return (f"Recall@1 of 1 in every cell: {', '.join(robust) or 'no method'}. Most fragile: {broken.idxmax()} "
            f"(below 1 in {int(broken.max())} of {int(cells['method'].eq(broken.idxmax()).sum())} cells).")


def exp3_findings(table: pd.DataFrame) -> str:
    numpy = table[table["implementation"] == "numpy_norm"].set_index("input")["ratio_to_scipy_median"]
    wraps = table[(table["input"] == "uint8") & ~table["equals_true_distance"].astype(bool)]
    parts = [f"{ratio:.2f}x on {kind}" for kind, ratio in numpy.items()]
    return "numpy/scipy median time per call: " + ", ".join(parts) + (f". On uint8 input {len(wraps)} implementations return a wrapped-around distance, "
                               "not the true one." if len(wraps) else ".")


def calibration_findings(table: pd.DataFrame) -> str:
    chosen = table[table["rule"] == "best_f1"].dropna(subset=["pairwise_f1"])
    best = chosen.loc[chosen["pairwise_f1"].idxmax()]
    text = (f"Grouping at each method's best-F1 threshold: best {best['method']} (pairwise F1 {best['pairwise_f1']:.3f}, "
            f"{int(best['n_clusters'])} clusters for {int(best['n_groups'])} groups).")
    given = table[table["rule"].astype(str).str.startswith("given")]
    if not given.empty:
        joined = given.set_index("method")["pairwise_f1"] - chosen.set_index("method")["pairwise_f1"]
        text += f" Thresholds carried over from another data set change pairwise F1 by {joined.min():+.3f} to {joined.max():+.3f}."
    return text


def bench_findings(table: pd.DataFrame) -> str:
    small = table[(table["part"] == "article_vs_fast") & (table["status"] == "ok")]
    big = table[(table["part"] == "scale") & (table["status"] == "ok")]
    text = ""
    if not small.empty:
        text += (f"Per pair at N={int(small['n'].iloc[0])} the fast engine is {small['speedup'].min():.1f}x "
                 f"({small.loc[small['speedup'].idxmin(), 'method']}) to {small['speedup'].max():.0f}x "
                 f"({small.loc[small['speedup'].idxmax(), 'method']}) faster than the article's loop. ")
    if not big.empty:
        top = big.loc[big["n"].idxmax()]
        text += (f"Largest N run: {int(top['n'])} ({top['method']}, {top['total_s']:.1f} s); highest peak memory "
                 f"{big['peak_rss_mib'].max():.0f} MiB.")
    return text or "No cell finished."


def bench_section(report: "Report", csv: Path) -> None:
    table = pd.read_csv(csv)
    report.section(TITLES["bench-scale"], csv)
    small = table[table["part"] == "article_vs_fast"]
    report.parts.append(markdown(small, {"method": "", "n": ".0f", "article_s_per_pair": ".2e", "fast_s_per_pair": ".2e",
                                         "speedup": ".1f", "total_over_floor": ".2f", "status": ""}))
    big = table[table["part"] == "scale"]
    report.parts.append(markdown(big, {"method": "", "n": ".0f", "status": "", "prepare_s": ".2f", "search_s": ".2f",
                                       "total_s": ".2f", "peak_rss_mib": ".0f", "predicted_s": ".0f"}))
    report.parts.append(f"Measured on {table['machine'].iloc[0]} ({int(table['torch_threads'].iloc[0])} torch threads), "
                        f"{dates(table)}, commit {table['git_commit'].iloc[0]}.")
    report.findings(bench_findings(table))
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


def retrieval_section(report: Report, experiment: str, out_dir: Path, table: pd.DataFrame, baseline: bool) -> None:
    missing = [c for c in RETRIEVAL_COLUMNS if c not in table]
    if missing:  # written by an older version: shown as it is, with a note on how to refresh it
        report.parts.append(f"This table predates the columns {', '.join(missing)} (nan below); "
                            f"rerun with `ARGS=force=true` to fill them.")
        table = table.assign(**{c: float("nan") for c in missing})
    report.parts.append(render_retrieval(table, report.link(out_dir / "table.csv")))
    report.findings(retrieval_findings(table))
    thresholds = out_dir / "thresholds.csv"
    if thresholds.is_file():
        frame = pd.read_csv(thresholds)
        report.parts.append("Pair classification (every pair; same group = positive), thresholds in each method's "
                            "own units:\n\n" + markdown(frame, {
                                "method": "", "direction": "", "auc": ".3f", "ap": ".3f", "best_f1": ".3f",
                                "threshold_at_best_f1": ".6g", "precision": ".3f", "recall": ".3f",
                                "threshold_at_p99": ".6g"}))
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
        baselines = [] if experiment.endswith("-fast") else [
            b for b in BASELINES.glob(f"{experiment}-*.csv") if not b.stem.startswith(f"{experiment}-transforms")]
        for csv, baseline in sources(list((results / experiment).glob("*/table.csv")), baselines):
            table = pd.read_csv(csv)
            dataset = table["dataset"].iloc[0]
            report.section(f"{TITLES[experiment]} ({dataset})", csv,
                           " (committed baseline: no run output under results/ here)" if baseline else "")
            retrieval_section(report, experiment, csv.parent, table, baseline)
            seen.append(f"{experiment}/{dataset}")
    for csv, baseline in sources(list((results / "exp2" / "transforms").glob("*/matrix.csv")),
                                 list(BASELINES.glob("exp2-transforms-*.csv"))):
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
        report.section(f"{TITLES['exp3']} ({table['dataset'].iloc[0]})", csv, " (committed baseline)" if baseline else "")
        report.parts.append(render_exp3(table, report.link(csv)))
        report.findings(exp3_findings(table))
        report.image(csv.with_name("table3.png"), "time per call")
        report.image(csv.with_name("sweep.png"), "size sweep")
        seen.append(f"exp3/{table['dataset'].iloc[0]}")
    for csv in sorted((results / "calibrate").glob("*/calibration.csv")):
        table = pd.read_csv(csv)
        dataset = table["dataset"].iloc[0]
        report.section(f"{TITLES['calibrate']} ({dataset})", csv)
        report.parts.append(markdown(table, {
            "method": "", "rule": "", "threshold": ".6g", "pair_precision": ".3f", "pair_recall": ".3f",
            "pairwise_precision": ".3f", "pairwise_recall": ".3f", "pairwise_f1": ".3f", "n_clusters": ".0f",
            "n_groups": ".0f"}))
        report.parts.append(f"Measured on {table['machine'].iloc[0]}, {dates(table)}, commit "
                            f"{table['git_commit'].iloc[0]}. Snippets: `{report.link(csv.parent / 'thresholds')}/`.")
        report.findings(calibration_findings(table))
        seen.append(f"calibrate/{dataset}")
    scale = results / "bench-scale" / "scale.csv"
    if scale.is_file():
        bench_section(report, scale)
        seen.append("bench-scale")
    head = (f"# dupbench report\n\nBuilt {now_utc()} by `make report` from the result files under "
            f"`{report.link(results)}/` only (nothing was rerun). Each section names its source, and each table the "
            f"machine, dates and commit of its run. Sections: {', '.join(seen) or 'none (run make exp1 first)'}.")
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
