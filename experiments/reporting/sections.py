"""The registry of what a person reads: each runner (and each benchmark tool) declares one Section,
its table, how it is rendered, its findings and plots; REPORT.md and the README/docs blocks loop
over what is declared, so adding an experiment touches no reporting code.

Where a section comes from:
- every experiment config in conf/experiment/ (its `title`, `name`, `output`) whose runner module
  defines `SECTION`;
- every module of experiments.tools that defines `ENTRY` (a benchmark with its own output folder).
A section's committed baseline is results/baselines/<key>-<dataset>.csv (<key>.csv for a tool),
key = the output folder with "/" as "-": exp1-fruits360.csv, exp2-transforms-embedded.csv.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from experiments.paths import BASELINES, output_name


@dataclass(frozen=True)
class Section:
    table: str  # the CSV in the output folder
    render: Callable[[pd.DataFrame, str], str]  # markdown: a README/docs block, and the REPORT's table
    findings: Callable[[pd.DataFrame], str] | None = None  # a sentence or two for REPORT.md
    plots: tuple[tuple[str, str], ...] = ()  # (file in the output folder, caption)
    # Draws the section's plot from the CSV alone, where only a baseline is there: (table, path).
    redraw: Callable[[pd.DataFrame, Path], None] | None = None
    engines: tuple[str, ...] = ("article",)  # output folders looked at: <output> and <output>-fast
    baseline: bool = True  # has committed baselines (calibration does not)
    # More for REPORT.md from other files of the output folder: (folder, table) -> markdown parts.
    more: Callable[[Path, pd.DataFrame], list[str]] = field(default=lambda folder, table: [])
    # Other CSVs of the output folder promoted with the table (to results/baselines/<stem>/), and the
    # plots drawn from the baseline and them into docs/img/<stem>/ for the pages that show the block:
    # (baseline CSV, its companions' folder, output folder) -> the PNG files written.
    companions: tuple[str, ...] = ()
    figures: Callable[[Path, Path, Path], list[Path]] | None = None


@dataclass(frozen=True)
class Entry:
    key: str  # baseline file prefix and README marker prefix
    title: str
    output: str  # folder under results/
    section: Section
    per_dataset: bool = True  # outputs under <output>/<dataset>/ (a tool writes straight into <output>/)
    plot: str = ""  # the experiment config's `plot` file name, for a section's "{plot}"

    def run_tables(self, results: Path) -> list[tuple[str, Path]]:
        """(engine, table) of every run output there is."""
        found = []
        for engine in self.section.engines:
            folder = results / output_name(self.output, engine)
            pattern = f"*/{self.section.table}" if self.per_dataset else self.section.table
            found += [(engine, path) for path in sorted(folder.glob(pattern))]
        return found

    def baselines(self, keys: Iterable[str] = ()) -> list[Path]:
        """This section's committed baselines; `keys`: every section's key (a longer key that starts
        with this one, exp2-transforms beside exp2, owns its own files)."""
        if not self.section.baseline:
            return []
        if not self.per_dataset:
            return [p for p in [BASELINES / f"{self.key}.csv"] if p.is_file()]
        others = {k for k in keys if k != self.key and k.startswith(self.key + "-")}
        return [
            p
            for p in sorted(BASELINES.glob(f"{self.key}-*.csv"))
            if not any(p.name.startswith(other + "-") for other in others)
        ]

    def companions_of(self, baseline: Path) -> Path:
        """Where a baseline's companion CSVs live: results/baselines/<stem>/."""
        return baseline.with_suffix("")

    def baseline_for(self, table_path: Path) -> Path:
        """Where a run's table is promoted to."""
        return BASELINES / (f"{self.key}-{table_path.parent.name}.csv" if self.per_dataset else f"{self.key}.csv")
