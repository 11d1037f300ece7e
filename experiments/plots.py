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
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for _, row in table.iterrows():
        marker = "o" if row["variant"] == "article" else "s"
        ax.scatter(row["mean_s_per_pair"], row["accuracy"], marker=marker, s=42)
        ax.annotate(row["method"], (row["mean_s_per_pair"], row["accuracy"]), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("mean seconds per pair (article timing, log scale)")
    ax.set_ylabel("accuracy, % (article: top-3 of each reference)")
    ax.set_ylim(-3, 103)
    ax.grid(True, which="both", alpha=0.3)
    datasets = ", ".join(sorted(table["dataset"].astype(str).unique()))
    ax.set_title(f"Experiment 1 on {datasets}: speed vs accuracy (circle = article call, square = variant)",
                 fontsize=9)
    atomic_save_figure(path, fig)
    plt.close(fig)
