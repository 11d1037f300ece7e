"""docs/extending.md, walked: a method registered outside methods/ (here, in a test) is listed,
runs in Experiment 1 on both engines, and nothing else asks for a baseline it does not have yet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dupbench.methods import Method, method_names, register
from dupbench.methods.__main__ import main as list_methods
from dupbench.methods.registry import unregister
from experiments.config import compose_config
from experiments.paths import BASELINES
from experiments.run import execute
from experiments.tools import regress


@pytest.fixture
def mean_colour():
    """A throw-away method: the distance between two images' mean colours."""

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

    yield MeanColour
    unregister("mean_colour_test")


def test_a_registered_method_is_listed(mean_colour, capsys):
    list_methods(["--long"])
    listed = capsys.readouterr().out
    assert "mean_colour_test" in listed and "mean RGB colours" in listed
    assert method_names()[-1] == "mean_colour_test"  # after the article's methods, which keep their order


@pytest.mark.parametrize("engine", ["article", "fast"])
def test_a_new_method_runs_in_experiment_1_on_the_embedded_set(mean_colour, tmp_path, engine):
    cfg = compose_config(
        [f"results_root={tmp_path}", "dataset=embedded", f"engine={engine}", "method.names=[ahash,mean_colour_test]"]
    )
    execute(cfg)
    folder = tmp_path / ("exp1" if engine == "article" else "exp1-fast") / "embedded"
    table = pd.read_csv(folder / "table.csv").set_index("method")
    assert list(table.index) == ["ahash", "mean_colour_test"]
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
