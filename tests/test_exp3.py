"""Experiment 3: the numeric agreement claims, the ratio arithmetic, and the run end to end."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import run_in_process

from experiments.runners.euclidean_timing import IMPLEMENTATIONS, summarise, true_distance


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (100, 100, 3), dtype=np.uint8), rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)


def test_on_uint8_the_article_calls_agree_with_each_other_and_both_wrap(arrays):
    a, b = arrays
    scipy_value = IMPLEMENTATIONS["scipy_euclidean"][0](a, b)
    numpy_value = IMPLEMENTATIONS["numpy_norm"][0](a, b)
    assert scipy_value == pytest.approx(numpy_value, rel=1e-12)
    wrapped = np.sqrt(((a - b).astype(np.float64) ** 2).sum())  # uint8 subtraction, modulo 256
    assert scipy_value == pytest.approx(wrapped, rel=1e-12)
    assert abs(scipy_value - true_distance(a, b)) / true_distance(a, b) > 0.1


@pytest.mark.parametrize("name", list(IMPLEMENTATIONS))
def test_on_float_inputs_every_implementation_is_the_true_distance(arrays, name):
    a, b = (x.astype(np.float64) for x in arrays)
    assert IMPLEMENTATIONS[name][0](a, b) == pytest.approx(true_distance(a, b), rel=1e-6)


@pytest.mark.parametrize("name", ["numpy_dot_float32", "numpy_dot_float64"])
def test_the_casting_variants_are_right_even_on_uint8(arrays, name):
    assert IMPLEMENTATIONS[name][0](*arrays) == pytest.approx(true_distance(*arrays), rel=1e-6)


def test_summary_ratios_are_per_pair_by_hand():
    raw = pd.DataFrame(
        {
            "pair": [0, 0, 1, 1, 2, 2],
            "implementation": ["scipy_euclidean", "numpy_norm"] * 3,
            "seconds": [2.0, 1.0, 4.0, 1.0, 1.0, 1.0],  # per-pair ratios 0.5, 0.25, 1.0
            "value": [5.0, 5.0, 3.0, 3.0, 4.0, 4.0],
            "true_distance": [5.0, 5.0, 3.0, 3.0, 2.0, 2.0],
        }
    )
    table = summarise(raw).set_index("implementation")
    assert table.loc["numpy_norm", "ratio_to_scipy_median"] == 0.5
    assert table.loc["numpy_norm", "median_s"] == 1.0 and table.loc["scipy_euclidean", "mean_s"] == pytest.approx(7 / 3)
    assert table.loc["numpy_norm", "max_rel_diff_vs_true"] == 1.0  # pair 2: 4 where the truth is 2
    assert not table.loc["numpy_norm", "equals_true_distance"]


def test_exp3_end_to_end(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="dupbench")
    code, err = run_in_process(
        tmp_path,
        "experiment=exp3",
        "dataset=embedded",
        "experiment.repetitions=40",
        "experiment.warmup=5",
        "experiment.sweep_sizes=[16,32]",
        "experiment.sweep_pairs=10",
    )
    assert code == 0, err[-2000:]
    out = tmp_path / "exp3" / "embedded"
    table = pd.read_csv(out / "table.csv").set_index(["input", "implementation"])
    assert len(table) == 2 * len(IMPLEMENTATIONS) and (table["n_calls"] == 40).all()
    assert (
        table.loc[("uint8", "scipy_euclidean"), "wraps_around"] and table.loc[("uint8", "numpy_norm"), "wraps_around"]
    )
    assert not table.loc[("uint8", "numpy_dot_float64"), "wraps_around"]
    assert table.xs("float64")["equals_true_distance"].all()
    assert (table["ratio_to_scipy_p5"] <= table["ratio_to_scipy_p25"]).all()
    assert (table["ratio_to_scipy_p25"] <= table["ratio_to_scipy_median"]).all()
    assert (table["ratio_to_scipy_median"] <= table["ratio_to_scipy_p95"]).all()
    assert (table.loc[(slice(None), "scipy_euclidean"), "ratio_to_scipy_median"] == 1.0).all()
    timings = pd.read_csv(out / "timings.csv")
    assert len(timings) == 2 * 40 * len(IMPLEMENTATIONS) and (timings["seconds"] > 0).all()
    sweep = pd.read_csv(out / "sweep.csv")
    assert sorted(sweep["side"].unique()) == [16, 32]
    for name in ("table3.png", "sweep.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert "numpy/scipy per-pair time ratio" in caplog.text
