"""Plots drawn from result tables only, so any figure can be redrawn without rerunning."""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
from omegaconf import OmegaConf

from experiments.paths import CONF_DIR

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments.reporting.labels import with_labels  # noqa: E402
from experiments.tables import atomic_save_figure  # noqa: E402


def speed_accuracy(table: pd.DataFrame, path: Path) -> None:
    """Time per pair (log) against accuracy, one labelled point per method."""
    table = with_labels(table)
    fig, ax = plt.subplots(figsize=(8.5, 5.2))
    # Methods often tie on accuracy: stagger the labels of each tied row up and down with a leader line.
    rows = table.assign(_tie=table["accuracy"].round(1)).sort_values(["_tie", "mean_s_per_pair"])
    for k, (_, row) in enumerate(rows.iterrows()):
        rank = int((rows["_tie"] == row["_tie"]).iloc[:k].sum())
        dy = (1 if rank % 2 == 0 else -1) * (10 + 11 * (rank // 2))
        marker = "o" if row["variant"] == "article" else "s"
        xy = (row["mean_s_per_pair"], row["accuracy"])
        ax.scatter(*xy, marker=marker, s=42, label=row["method"], zorder=3)
        ax.annotate(
            row["method"],
            xy,
            textcoords="offset points",
            xytext=(6, dy),
            fontsize=7.5,
            va="center",
            arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.5"},
        )
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_xscale("log")
    ax.set_xlabel("mean seconds per pair (article timing, log scale)")
    ax.set_ylabel("accuracy, % (article: top-3 of each reference)")
    ax.set_ylim(-8, 112)
    ax.grid(True, which="both", alpha=0.3)
    datasets = ", ".join(sorted(table["dataset"].astype(str).unique()))
    experiments = ", ".join(sorted(table["experiment"].astype(str).unique()))
    ax.set_title(
        f"{experiments} on {datasets}: speed vs accuracy (circle = article call, square = variant)", fontsize=9
    )
    atomic_save_figure(path, fig)
    plt.close(fig)


def main() -> None:
    """`python -m experiments.reporting.plots results/<experiment>/<dataset>/table.csv`: redraw its plot beside it."""

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("table", type=Path)
    args = parser.parse_args()

    table = pd.read_csv(args.table)
    out = args.table.with_name(OmegaConf.load(CONF_DIR / "experiment" / f"{table['experiment'].iloc[0]}.yaml").plot)
    speed_accuracy(table, out)
    print(out)


if __name__ == "__main__":
    main()


def transform_heatmap(matrix: pd.DataFrame, path: Path) -> None:
    """recall@1 per method (rows) and family/severity (columns, in the config's order), numbers in cells."""
    matrix = with_labels(matrix)
    columns = list(dict.fromkeys(zip(matrix["family"], matrix["severity"])))
    methods = list(dict.fromkeys(matrix["method"]))
    recall = matrix.set_index(["method", "family", "severity"])["recall"]
    grid = np.array([[recall.get((m, f, s), np.nan) for f, s in columns] for m in methods])
    fig, ax = plt.subplots(figsize=(0.42 * len(columns) + 3.2, 0.42 * len(methods) + 2.2))
    image = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    for r in range(len(methods)):
        for c in range(len(columns)):
            if not np.isnan(grid[r, c]):
                ax.text(
                    c,
                    r,
                    f"{grid[r, c]:.2f}".lstrip("0") if grid[r, c] < 1 else "1",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="black",
                )
    ax.set_xticks(
        range(len(columns)),
        [f"{f} {s:g}" if f not in SINGLE else f for f, s in columns],
        rotation=70,
        ha="right",
        fontsize=7,
    )
    ax.set_yticks(range(len(methods)), methods, fontsize=8)
    n = int(matrix["n"].iloc[0])
    ax.set_title(
        f"recall@1 of each base image's own variant among {n} base images and {n} variants "
        f"({', '.join(sorted(matrix['dataset'].astype(str).unique()))})",
        fontsize=8.5,
    )
    fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01, label="recall@1")
    atomic_save_figure(path, fig)
    plt.close(fig)


SINGLE = {"identity", "hflip", "grayscale"}  # families whose severity means nothing


def timing_distributions(raw: pd.DataFrame, path: Path) -> None:
    """Per-call times of each implementation and input type as box plots (log scale, 5-95 % whiskers)."""
    groups = list(dict.fromkeys(zip(raw["input"], raw["implementation"])))
    data = [raw[(raw["input"] == i) & (raw["implementation"] == m)]["seconds"].to_numpy() * 1e6 for i, m in groups]
    fig, ax = plt.subplots(figsize=(1.1 * len(groups) + 2, 4.6))
    ax.boxplot(data, whis=(5, 95), showfliers=False)
    ax.set_xticks(range(1, len(groups) + 1), [f"{m}\n({i})" for i, m in groups], fontsize=7, rotation=20)
    ax.set_yscale("log")
    ax.set_ylabel("microseconds per call (log)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    n = int(raw["pair"].nunique())
    ax.set_title(
        f"Experiment 3: time per Euclidean distance call, {n} pairs each (box 25-75 %, whiskers 5-95 %)", fontsize=9
    )
    atomic_save_figure(path, fig)
    plt.close(fig)


def size_sweep(sweep: pd.DataFrame, path: Path) -> None:
    """Median time per call against pixel count, log-log, one line per implementation and input."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for (name, dtype), rows in sweep.groupby(["implementation", "input"], sort=False):
        rows = rows.sort_values("pixels")
        ax.plot(
            rows["pixels"],
            rows["median_s"] * 1e6,
            marker="o",
            linestyle="-" if dtype == "uint8" else "--",
            label=f"{name} ({dtype})",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pixels per image (x3 channels)")
    ax.set_ylabel("median microseconds per call")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Experiment 3 size sweep: where call overhead stops dominating", fontsize=9)
    atomic_save_figure(path, fig)
    plt.close(fig)


def precision_recall(curves: pd.DataFrame, path: Path) -> None:
    """Pair classification: one precision-recall line per method (same group = positive)."""
    curves = with_labels(curves)
    fig, ax = plt.subplots(figsize=(6.8, 4.8))
    for method, rows in curves.groupby("method", sort=False):
        ap = float((np.diff(np.r_[0.0, rows["recall"].to_numpy()]) * rows["precision"].to_numpy()).sum())
        ax.step(rows["recall"], rows["precision"], where="post", label=f"{method} (AP {ap:.3f})")
    ax.set_xlabel("recall (share of same-group pairs called duplicates)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    names = ", ".join(sorted(curves["dataset"].astype(str).unique()))
    ax.set_title(f"Pairs at every threshold: {names}", fontsize=9)
    atomic_save_figure(path, fig)
    plt.close(fig)


def scale(table: pd.DataFrame, path: Path) -> None:
    """Left: per-pair speed-up of the fast engine over the article's loop at N=96. Right: the fast
    engine's total time against N, log-log, with an N^2 reference slope."""
    table = with_labels(table)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1, 1.3]})
    small = (
        table[(table["part"] == "article_vs_fast") & (table["status"] == "ok")] if "status" in table else table.iloc[:0]
    )
    if not small.empty:
        left.barh(small["method"], small["speedup"], color="tab:blue")
        for y, value in enumerate(small["speedup"]):
            left.text(value, y, f" {value:.0f}x", va="center", fontsize=7)
        left.set_xscale("log")
        left.invert_yaxis()
        left.set_xlabel("article s/pair / fast s/pair (log)")
        left.set_title(f"Speed-up per pair, N={int(small['n'].iloc[0])} ({small['dataset'].iloc[0]})", fontsize=9)
        left.grid(True, axis="x", which="both", alpha=0.3)
    big = table[(table["part"] == "scale") & (table["status"] == "ok")] if "status" in table else table.iloc[:0]
    for method, rows in big.groupby("method", sort=False):
        right.plot(rows["n"], rows["total_s"], marker="o", label=method)
    if not big.empty:
        n = np.array(sorted(big["n"].unique()), dtype=float)
        anchor = big[big["n"] == n[0]]["total_s"].median()
        right.plot(n, anchor * (n / n[0]) ** 2, "k--", lw=1, label="N^2 slope")
        right.legend(fontsize=7)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("images N")
    right.set_ylabel("fast engine: prepare + top-10 of every image, s")
    right.grid(True, which="both", alpha=0.3)
    right.set_title("Fast engine at scale (skipped cells: see scale.csv)", fontsize=9)
    atomic_save_figure(path, fig)
    plt.close(fig)


def field_speed_recall(table: pd.DataFrame, path: Path) -> None:
    """Each method's total time (log) against its recall at precision 0.99: up and left is better."""
    ok = table[(table["status"].astype(str) == "ok") & (table["kind"] == "method")].drop_duplicates("method")
    if ok.empty:
        return
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.scatter(ok["total_s"], ok["recall_at_p99"], color="tab:blue")
    low = ok[ok["recall_at_p99"] < 0.05]
    for _, row in ok[ok["recall_at_p99"] >= 0.05].iterrows():
        ax.annotate(
            str(row.get("label") or row["method"]),
            (row["total_s"], row["recall_at_p99"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    if not low.empty:  # a crowd on the axis: named in one line instead of overlapping labels
        names = ", ".join(str(r.get("label") or r["method"]) for _, r in low.iterrows())
        ax.text(0.01, 0.06, f"under 0.05: {names}", transform=ax.transAxes, fontsize=6, wrap=True, va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel("decode + encode + all pairs, seconds (log)")
    ax.set_ylabel("recall at precision 0.99 (all pairs)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"{ok['dataset'].iloc[0]}: {int(ok['n_images'].iloc[0])} images, time vs recall", fontsize=9)
    atomic_save_figure(path, fig)
    plt.close(fig)


def edit_heatmap(edits: pd.DataFrame, path: Path, rule: str = "p99") -> None:
    """Methods x edits: the share of edited copies found at the calibrated threshold."""
    edits = with_labels(edits)
    grid = edits.pivot_table(index="method", columns="edit", values=f"recall_{rule}", sort=False)
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * grid.shape[1], 1.0 + 0.33 * grid.shape[0]))
    ax.imshow(grid.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
        if not np.isnan(value):
            ax.text(
                j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color="white" if value < 0.6 else "black"
            )
    ax.set_title(f"{edits['dataset'].iloc[0]}: edited copies found at the calibrated {rule} threshold", fontsize=9)
    atomic_save_figure(path, fig)
    plt.close(fig)


def field_plots(table_path: Path, companions: Path, out: Path) -> list[Path]:
    """field.png, pr.png and edits.png from field.csv and its companions (curves.csv, edits.csv) only:
    a run's folder, or a committed baseline and its folder of companions."""
    drawn = []
    out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(table_path) if table_path.is_file() else pd.DataFrame()
    if not table.empty and (table["status"].astype(str) == "ok").any():
        field_speed_recall(table, out / "field.png")
        drawn.append(out / "field.png")
    if (companions / "curves.csv").is_file():
        precision_recall(pd.read_csv(companions / "curves.csv"), out / "pr.png")
        drawn.append(out / "pr.png")
    edits = pd.read_csv(companions / "edits.csv") if (companions / "edits.csv").is_file() else pd.DataFrame()
    if not edits.empty:
        edit_heatmap(edits, out / "edits.png")
        drawn.append(out / "edits.png")
    return drawn
