"""The accuracy regression check: passes on the committed baselines, fails on a worsened copy."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from dupbench.methods import method_names
from experiments.evaluation.metric_table import tolerance
from experiments.paths import BASELINES, REPO_ROOT
from experiments.tools import regress


@pytest.fixture(scope="module")
def baseline() -> pd.DataFrame:
    return pd.read_csv(BASELINES / "exp1-embedded.csv")


def test_committed_baselines_have_every_metric_for_every_method(baseline):
    for quick in regress.QUICK:
        table = regress.one_row_per_method(pd.read_csv(quick.baseline))
        if "kind" in table:  # the field's: the peer tools' rows are not the harness's methods
            table = table[table["kind"] == "method"]
        assert set(quick.metrics) <= set(table.columns), quick.baseline
        assert table[list(quick.metrics)].notna().all().all(), quick.baseline
        # Every baseline row is a registered method; a new method without a row yet is not a failure.
        assert set(table["method"]) <= set(method_names()), quick.baseline
        listed = set(pd.read_csv(quick.baseline)["method"])  # with the rows of methods skipped there, and why
        assert listed >= set(quick.names()), f"{quick.baseline} lacks rows: make regress-refresh"


def as_a_fresh_run_writes_it(table: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """The baseline's results as a rerun gives them: rows in another order, each metric lowered by half
    its method's tolerance (float noise; 1e-9 for a deterministic method)."""
    now = table.sample(frac=1, random_state=0).reset_index(drop=True)
    for metric in [m for m in metrics if m in now]:
        noise = [tolerance(metric, regress.deterministic(str(method))) / 2 for method in now["method"]]
        now[metric] = now[metric] - noise
    return now


@pytest.mark.parametrize("quick", [q for q in regress.QUICK if q.engine == "article"], ids=lambda q: q.name)
def test_the_same_table_passes(quick, tmp_path, capsys):
    """make regress's own check, from the table a run writes, on every quick configuration's baseline."""
    table = quick.table(tmp_path)
    table.parent.mkdir(parents=True)
    as_a_fresh_run_writes_it(pd.read_csv(quick.baseline), quick.metrics).to_csv(table, index=False)
    assert regress.check([quick], tmp_path) == []
    assert f"regress: {quick.name}: " in capsys.readouterr().out


def test_a_deterministic_method_fails_on_any_drop_beyond_float_noise(baseline):
    worse = baseline.copy()
    worse.loc[worse["method"] == "ahash", "map"] -= 1e-6
    drops = regress.compare(baseline, worse)
    assert list(zip(drops["method"], drops["metric"])) == [("ahash", "map")]
    assert drops["change"].iloc[0] == pytest.approx(-1e-6)
    noise = baseline.copy()
    noise.loc[noise["method"] == "ahash", "map"] -= 1e-12
    assert regress.compare(baseline, noise).empty


def test_the_cnn_has_its_stated_tolerance(baseline):
    cnn = baseline["method"] == "cnn_cosine"
    within = baseline.copy()
    within.loc[cnn, "pair_ap"] -= 0.004
    within.loc[cnn, "accuracy"] -= 1.39  # one hit of 72 on Fruits-360
    assert regress.compare(baseline, within).empty
    beyond = baseline.copy()
    beyond.loc[cnn, "accuracy"] -= 4.17  # one hit of 24 on the embedded set
    assert list(regress.compare(baseline, beyond)["metric"]) == ["accuracy"]


def test_a_missing_method_fails(baseline):
    drops = regress.compare(baseline, baseline[baseline["method"] != "ssim"])
    assert set(drops["method"]) == {"ssim"} and len(drops) == len(regress.METRICS)
    assert drops["now"].isna().all()


@pytest.mark.slow  # the command's exit code is the subject
def test_the_command_fails_with_a_table_on_a_worsened_copy_and_passes_on_the_baselines(tmp_path):
    for quick in regress.QUICK:
        target = quick.table(tmp_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(quick.baseline, target)
    command = [sys.executable, "-m", "experiments.tools.regress", "--compare-only", "--root", str(tmp_path)]
    same = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "regress: passed" in same.stdout
    table = pd.read_csv(regress.QUICK[0].table(tmp_path))
    table.loc[table["method"] == "cosine", "accuracy"] -= 12.5  # one method broken
    table.to_csv(regress.QUICK[0].table(tmp_path), index=False)
    broken = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    assert broken.returncode == 1
    assert "FAILED for 1 configuration" in broken.stderr
    fast = next(q for q in regress.QUICK if q.engine == "fast" and q.dataset == "embedded")
    assert "exp1 on embedded:" in broken.stdout
    assert f"exp1 on embedded (engine=fast): {len(fast.names())} methods" in broken.stdout
    assert "has no baseline row" not in broken.stdout  # the baseline holds every method
    line = next(row for row in broken.stdout.splitlines() if row.startswith("embedded") and "cosine" in row)
    assert line.split()[:3] == ["embedded", "cosine", "accuracy"] and "-12.5000" in line


def test_a_configuration_without_a_table_fails(tmp_path):
    assert regress.check([regress.QUICK[0]], tmp_path) == [regress.QUICK[0].name]
