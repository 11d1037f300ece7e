"""docs/extending.md, walked: a method added the way the page says, as a module of dupbench/methods/
(found by module discovery: nothing registers it here) and its config in conf/method/, is listed,
runs in Experiment 1 on both engines, appears in the methods table that the documented regenerate
command draws, and nothing else asks for a baseline it does not have yet."""

from __future__ import annotations

import importlib
import sys

import pandas as pd
import pytest

from dupbench.methods import method_names
from dupbench.methods.__main__ import main as list_methods
from dupbench.methods.registry import unregister
from experiments.config import compose_config
from experiments.paths import BASELINES, CONF_DIR, REPO_ROOT
from experiments.run import execute
from experiments.tools import blocks, regress

MODULE = REPO_ROOT / "dupbench" / "methods" / "zz_extending_walk.py"
CONFIG = CONF_DIR / "method" / "mean_colour_test.yaml"
SOURCE = '''"""A throw-away method of tests/test_extending.py: the distance between two images' mean colours."""

import numpy as np

from dupbench.methods.base import Method
from dupbench.methods.registry import register


@register("mean_colour_test")
class MeanColour(Method):
    family = "colour"
    variant = "ours"
    direction = "distance"
    summary = "Euclidean distance of the mean RGB colours (a test's throw-away method)"

    def prepare(self, image):
        return np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(axis=0)

    def score(self, a, b):
        return float(np.linalg.norm(a - b))
'''


@pytest.fixture
def mean_colour():
    """Step 1 and 2 of the page: the module and its config, removed afterwards whatever happens."""
    MODULE.write_text(SOURCE)
    CONFIG.write_text("names: [mean_colour_test]\n")
    try:
        importlib.invalidate_caches()
        yield "mean_colour_test"
    finally:
        MODULE.unlink(missing_ok=True)
        CONFIG.unlink(missing_ok=True)
        unregister("mean_colour_test")
        sys.modules.pop("dupbench.methods.zz_extending_walk", None)


def test_a_registered_method_is_listed(mean_colour, capsys):
    list_methods(["--long"])
    listed = capsys.readouterr().out
    assert "mean_colour_test" in listed and "mean RGB colours" in listed
    assert method_names()[-1] == "mean_colour_test"  # after the article's methods, which keep their order


@pytest.mark.parametrize("engine", ["article", "fast"])
def test_a_new_method_runs_in_experiment_1_on_the_embedded_set(mean_colour, tmp_path, engine):
    cfg = compose_config(
        [f"results_root={tmp_path}", "dataset=embedded", f"engine={engine}", "method=mean_colour_test"]
    )
    execute(cfg)
    folder = tmp_path / ("exp1" if engine == "article" else "exp1-fast") / "embedded"
    table = pd.read_csv(folder / "table.csv").set_index("method")
    assert list(table.index) == ["mean_colour_test"]
    assert table.loc["mean_colour_test", "variant"] == "ours" and 0 <= table.loc["mean_colour_test", "accuracy"] <= 100
    assert (pd.read_csv(folder / "queries.csv")["method"] == "mean_colour_test").any()


def test_a_method_without_a_baseline_row_is_reported_not_failed(mean_colour, tmp_path, capsys):
    quick = regress.QUICK[0]
    table = quick.table(tmp_path)
    table.parent.mkdir(parents=True)
    baseline = pd.read_csv(BASELINES / f"{quick.experiment}-{quick.dataset}.csv")
    extra = baseline.iloc[[0]].assign(method="mean_colour_test", variant="ours")
    pd.concat([baseline, extra]).to_csv(table, index=False)
    assert regress.check([quick], tmp_path) == []
    assert "mean_colour_test has no baseline row yet: not compared" in capsys.readouterr().out


def test_the_regenerate_command_draws_it_into_the_methods_table(mean_colour, capsys):
    assert blocks.main(["--check"]) == 1  # the methods table (docs/methods.md) is stale until it is redrawn
    assert "stale: docs/methods.md" in capsys.readouterr().out
    table = blocks.MethodsBlock().text()
    assert "`mean_colour_test` | ours | distance" in table and "mean RGB colours" in table
