"""The README's commands, run in the README's order on a fresh clone of the committed tree (uncommitted
changes are not in it), as a new user runs them (issue 42, point 1): each exits 0 and writes what it
says, whatever ran before it. `make exp1`, then `make exp1 engine=fast`, then `make report` once
stopped at a fast run's missing torch thread count (at ed8647a this test fails there).

Small data where the command takes an override, so that CI stays quick (a few minutes): the data root
(DUPBENCH_DATA) holds UKBench's 40 photos only, so `make exp1` falls back to the embedded set as it
says; the experiment targets run two hash methods (ARGS=...), the CNN commands the fast engine (the
article's loop is ~20 minutes of CNN). Left out, each with its reason: LEFT_OUT."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from experiments.paths import REPO_ROOT
from tests.staged import data_root

README = REPO_ROOT / "README.md"
# make's setup target is what `.venv` already is here: the clone shares it, never reinstalls it.
MAKE = ["make", "-o", ".venv/.installed-stamp"]
HASHES = "ARGS=method.names=[ahash,phash]"  # no torch: the fast run records no thread count
RUN = [".venv/bin/python", "experiments/run.py"]


@dataclass(frozen=True)
class Step:
    readme: str  # the command as the README writes it: the order is the README's
    argv: tuple[str, ...]  # what runs: the same command, on the small data
    writes: tuple[str, ...] = ()  # files under the clone that must exist afterwards
    says: str = ""  # text its output must contain
    code: int = 0


STEPS = [
    Step(
        "make exp1",
        (*MAKE, "exp1", HASHES),
        ("results/exp1/embedded/table.csv", "results/exp1/embedded/table1.png"),
        "using dataset=embedded instead of dataset=fruits360",
    ),
    Step("make exp1 engine=fast", (*MAKE, "exp1", "engine=fast", HASHES), ("results/exp1-fast/embedded/table.csv",)),
    Step("make report", (*MAKE, "report"), ("results/REPORT.md",), "exp1-fast/embedded"),
    Step(
        "experiments/run.py method=cnn_cosine dataset=ukbench",
        (*RUN, "method=cnn_cosine", "dataset=ukbench", "engine=fast"),
        ("results/exp1-fast/ukbench/table.csv",),
    ),
    Step(
        "'method.names=[ahash,cosine]'",
        (*RUN, "dataset=embedded", "method.names=[ahash,cosine]"),
        ("results/exp1/embedded/table.csv",),
    ),
    Step("-m method=ahash,cosine", (*RUN, "-m", "method=ahash,cosine", "dataset=embedded")),
    Step(
        "`dataset=sfbench`",
        (*RUN, "method=cnn_cosine", "dataset=sfbench", "engine=fast"),
        ("results/exp1-fast/ukbench/table.csv",),
        "using dataset=ukbench instead of dataset=sfbench",
    ),
    Step(
        "`dupbench find DIR`",
        (".venv/bin/dupbench", "find", "data/embedded", "--html", "find-report", "--quiet"),
        ("find-report/index.html",),
        code=1,  # it found duplicates
    ),
    Step("python -m dupbench.methods --long", (".venv/bin/python", "-m", "dupbench.methods", "--long"), (), "ahash"),
    Step("| `make exp2` |", (*MAKE, "exp2", HASHES), ("results/exp2/ukbench/table.csv",), "instead of dataset=sfbench"),
    Step(
        "| `make exp2-matrix` |",
        (*MAKE, "exp2-matrix", "ARGS=method.names=[ahash]"),
        ("results/exp2/transforms/embedded/matrix.csv",),
    ),
    Step(
        "| `make exp3` |",
        (*MAKE, "exp3", "ARGS=experiment.sweep_sizes=[32] experiment.sweep_pairs=20"),
        ("results/exp3/embedded/table.csv",),
    ),
    Step(
        "| `make calibrate DATASET=...` |",
        (*MAKE, "calibrate", "DATASET=embedded", "ARGS=method.names=[ahash]"),
        ("results/calibrate/embedded/calibration.csv",),
    ),
    Step("| `make report` |", (*MAKE, "report"), ("results/REPORT.md",), "calibrate/embedded"),
]
# The README's other commands, and why this test does not run them.
LEFT_OUT = {
    "make test": "this test is part of it (CI runs make test-all)",
    "make regress": "CI runs it after the tests; regress-refresh and readme-table rewrite committed files",
    "make peers": "installs each tool with pip (CI runs it first)",
    "make field / kinds / bench-*": "minutes to hours each on the full data sets",
    "make data-check": "every staged set file by file (minutes); tests/test_check.py runs it",
    "make lint": "CI runs it first",
}


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh clone of the committed tree sharing this .venv, and a data root holding UKBench only."""
    ukbench = data_root() / "ukbench_subset"
    if not ukbench.is_dir():
        pytest.skip(f"{ukbench} is not staged (set DUPBENCH_DATA to the data root)")
    tmp = tmp_path_factory.mktemp("sequence")
    repo = tmp / "dupbench"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(repo)], check=True, timeout=120)
    (repo / ".venv").symlink_to(REPO_ROOT / ".venv")
    data = tmp / "data"
    data.mkdir()
    (data / "ukbench_subset").symlink_to(ukbench)
    env = {**os.environ, "DUPBENCH_DATA": str(data), "PYTHONPATH": str(repo), "TORCH_HOME": str(tmp / "torch")}
    return repo, env


def test_the_steps_follow_the_readme_in_its_order():
    text = README.read_text()
    where = [text.find(step.readme) for step in STEPS]
    assert -1 not in where, [s.readme for s, w in zip(STEPS, where) if w == -1]
    assert where == sorted(where), [s.readme for s in sorted(STEPS, key=lambda s: text.find(s.readme))]


@pytest.mark.slow  # about 14 commands, each a process: a few minutes
def test_every_readme_command_in_order_on_a_fresh_clone(clone):
    repo, env = clone
    for step in STEPS:
        done = subprocess.run(step.argv, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
        output = done.stdout + done.stderr
        assert done.returncode == step.code, f"{step.readme}: exit {done.returncode}\n{output[-3000:]}"
        for path in step.writes:
            assert (repo / path).is_file(), f"{step.readme}: no {path}\n{output[-2000:]}"
        assert step.says in output, f"{step.readme}: {step.says!r} not said\n{output[-2000:]}"
    report = (repo / "results" / "REPORT.md").read_text()
    assert "fast engine (embedded)" in report and "torch threads not recorded" in report
    fast = pd.read_csv(repo / "results" / "exp1-fast" / "embedded" / "table.csv")
    assert fast["torch_threads"].isna().all()  # the case that stopped the report
    assert set(pd.read_csv(repo / "results" / "exp1" / "embedded" / "table.csv")["method"]) == {
        "ahash",
        "phash",
        "cosine",
    }
