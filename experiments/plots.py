"""Plots drawn from result tables only, so any figure can be redrawn without rerunning."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .results import atomic_save_figure  # noqa: E402


def table1(table: pd.DataFrame, path: Path) -> None:
    """Time per pair (log) against accuracy, one labelled point per method."""
    fig, ax = plt.subplots(figsize=(8.5, 5.2))
    # Methods often tie on accuracy: stagger the labels of each tied row up and down with a leader line.
    rows = table.assign(_tie=table["accuracy"].round(1)).sort_values(["_tie", "mean_s_per_pair"])
    for k, (_, row) in enumerate(rows.iterrows()):
        rank = int((rows["_tie"] == row["_tie"]).iloc[:k].sum())
        dy = (1 if rank % 2 == 0 else -1) * (10 + 11 * (rank // 2))
        marker = "o" if row["variant"] == "article" else "s"
        xy = (row["mean_s_per_pair"], row["accuracy"])
        ax.scatter(*xy, marker=marker, s=42, label=row["method"], zorder=3)
        ax.annotate(row["method"], xy, textcoords="offset points", xytext=(6, dy), fontsize=7.5,
                    va="center", arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.5"})
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_xscale("log")
    ax.set_xlabel("mean seconds per pair (article timing, log scale)")
    ax.set_ylabel("accuracy, % (article: top-3 of each reference)")
    ax.set_ylim(-8, 112)
    ax.grid(True, which="both", alpha=0.3)
    datasets = ", ".join(sorted(table["dataset"].astype(str).unique()))
    ax.set_title(f"Experiment 1 on {datasets}: speed vs accuracy (circle = article call, square = variant)",
                 fontsize=9)
    atomic_save_figure(path, fig)
    plt.close(fig)


def main() -> None:
    """`python -m experiments.plots results/exp1/<dataset>/table.csv`: redraw table1.png beside it."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("table", type=Path)
    args = parser.parse_args()
    out = args.table.with_name("table1.png")
    table1(pd.read_csv(args.table), out)
    print(out)


if __name__ == "__main__":
    main()
