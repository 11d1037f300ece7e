"""make report renders any table the runners write, a field a run did not record included: it says
"not recorded" (issue 42: a fast run that never loads torch has no torch thread count, and the report
stopped with a traceback at `int(first['torch_threads'])`)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from experiments.catalog import baselines_of, entries
from experiments.paths import BASELINES
from experiments.reporting.render import render_retrieval
from experiments.tools import report

# Fields a section states about its run (provenance, counts, its headline metrics): any of them may be
# absent from a row, as torch_threads is from a fast run's.
RUN_FIELDS = (
    "machine",
    "torch_threads",
    "git_commit",
    "dataset",
    "finished_at",
    "n_images",
    "n_references",
    "n_pairs",
    "n_groups",
    "n_calls",
    "resize",
    "pairs_timed",
    "rounds",
    "seed",
    "blas",
    "queries",
    "accuracy",
    "mean_s_per_pair",
    "map",
    "pair_ap",
)


def fast_run_table() -> pd.DataFrame:
    """Experiment 1 as `make exp1 engine=fast` writes it: no torch loaded, so no thread count."""
    table = pd.read_csv(BASELINES / "exp1-embedded.csv")
    return table.assign(engine="fast", torch_threads=np.nan)


def test_a_fast_run_without_torch_threads_renders_and_says_not_recorded():
    text = render_retrieval(fast_run_table(), "results/exp1-fast/embedded/table.csv")
    assert "torch threads not recorded" in text
    assert not re.search(r"\bnan\b", text), text


# The sections drawn by experiments/reporting (a tool's own renderer is its module's).
REPORTED = [e for e in entries() if baselines_of(e) and e.section.render.__module__ == "experiments.reporting.render"]


@pytest.mark.parametrize("entry", REPORTED, ids=lambda e: e.key)
def test_every_section_renders_with_any_run_field_missing(entry):
    table = pd.read_csv(baselines_of(entry)[0])
    for field in [f for f in RUN_FIELDS if f in table]:
        blank = table.assign(**{field: np.nan})
        text = entry.section.render(blank, "source.csv")
        if entry.section.findings is not None:
            entry.section.findings(blank)
        assert not re.search(r"\bnan\b", text), (field, text)
    missing = table.drop(columns=[f for f in ("torch_threads", "git_commit", "finished_at") if f in table])
    assert "not recorded" in entry.section.render(missing, "source.csv")


def test_the_report_of_an_article_run_and_a_fast_run_builds(tmp_path):
    for folder, table in (("exp1", pd.read_csv(BASELINES / "exp1-embedded.csv")), ("exp1-fast", fast_run_table())):
        (tmp_path / folder / "embedded").mkdir(parents=True)
        table.to_csv(tmp_path / folder / "embedded" / "table.csv", index=False)
    entry = next(e for e in entries() if e.key == "exp1")
    out = tmp_path / "REPORT.md"
    built = report.Report(tmp_path, out)
    for engine, path in entry.run_tables(tmp_path):
        built.add(entry, path, engine, baseline=False)
    text = "\n\n".join(built.parts)
    assert "Experiment 1: speed and accuracy, fast engine (embedded)" in text
    assert "torch threads not recorded" in text
