"""`make report`: results/REPORT.md, every section declared by a runner or a benchmark tool
(experiments/reporting/sections.py), from result files only (nothing is rerun). Where a section has
no run output here, its committed baselines stand in (said so in its heading) and its plot is
redrawn from the CSV."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from dupbench.files import atomic_write_text
from experiments.catalog import baselines_of, entries
from experiments.paths import REPO_ROOT
from experiments.provenance import now_utc
from experiments.reporting.sections import Entry


class Report:
    def __init__(self, results: Path, out: Path) -> None:
        self.results, self.out, self.parts = results, out, []

    def link(self, path: Path) -> str:
        return os.path.relpath(path, self.out.parent)

    def image(self, path: Path, caption: str) -> None:
        if path.is_file():
            self.parts.append(f"![{caption}]({self.link(path)})")

    def add(self, entry: Entry, path: Path, engine: str, baseline: bool) -> str:
        """One section from one table: heading, source, rendered table, findings, more, plots."""
        section, table = entry.section, pd.read_csv(path)
        where = f" ({table['dataset'].iloc[0]})" if entry.per_dataset else ""
        name = f"{entry.title}{', fast engine' if engine == 'fast' else ''}{where}"
        note = " (committed baseline: no run output under results/ here)" if baseline else ""
        self.parts.append(f"## {name}\n\nSource: `{self.link(path)}`{note}.")
        self.parts.append(section.render(table, self.link(path)))
        if section.findings is not None:
            self.parts.append(f"**Findings.** {section.findings(table)}")
        if baseline:
            if section.redraw is not None:
                redrawn = self.out.parent / "report" / f"{path.stem}.png"
                section.redraw(table, redrawn)
                self.image(redrawn, f"{entry.title} (redrawn from the baseline)")
            return name
        self.parts += section.more(path.parent, table)
        for file, caption in section.plots:
            self.image(path.parent / file.format(plot=entry.plot), caption)
        return name


def build(results: Path, out: Path) -> list[str]:
    report, seen = Report(results, out), []
    for entry in entries():
        runs = [(engine, path, False) for engine, path in entry.run_tables(results)]
        for engine, path, baseline in runs or [("article", path, True) for path in baselines_of(entry)]:
            report.add(entry, path, engine, baseline)
            dataset = path.stem.removeprefix(entry.key + "-") if baseline else path.parent.name
            where = f"/{dataset}" if entry.per_dataset else ""
            seen.append(f"{entry.key}{'-fast' if engine == 'fast' else ''}{where}")
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
