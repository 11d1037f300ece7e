"""The runner end to end, as a user calls it, on the embedded set at a small resize."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
from conftest import ARTICLE_SUITE, run_cli, run_in_process

from dupbench.methods import method_class
from experiments.config import group_options

TABLE_COLUMNS = [
    "experiment",
    "dataset",
    "method",
    "variant",
    "resize",
    "n_images",
    "n_references",
    "n_pairs",
    "accuracy",
    "accuracy_all_queries",
    "mean_s_per_pair",
    "median_s_per_pair",
    "prepared_s_per_pair",
    "backbone",
    "weights_sha256",
    "machine",
    "git_commit",
    "torch_threads",
    "p_at_1",
    "p_at_3",
    "p_at_10",
    "r_at_1",
    "r_at_3",
    "r_at_10",
    "map",
    "pair_auc",
    "pair_ap",
]
# Methods that must find these mild near-duplicates: chance for top-3 among 31 others is about 10 %.
# The article's two uint8 Euclidean calls wrap around (see docs/methods.md): every other method is strong.
WRAPPED = {"euclidean_scipy", "euclidean_numpy"}
# The article loop runs a CNN twice per pair (~10 s each here): the fast tests run the other methods;
# the CNNs' rows are checked by a slow test, and `make regress` runs the whole suite in CI.
CNNS = [name for name in ARTICLE_SUITE if method_class(name).family == "cnn"]
QUICK_SUITE = [name for name in ARTICLE_SUITE if name not in CNNS]
STRONG = [name for name in QUICK_SUITE if name not in WRAPPED]
SMALL = ("dataset=embedded", "dataset.resize.width=48", "dataset.resize.height=48")


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    code, err = run_in_process(tmp, *SMALL, f"method.names=[{','.join(QUICK_SUITE)}]")
    assert code == 0, err[-2000:]
    return tmp / "exp1" / "embedded", err


@pytest.fixture(scope="module")
def embedded_cnn_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-cnn")
    code, err = run_in_process(tmp, *SMALL, f"method.names=[{','.join(CNNS)}]")
    assert code == 0, err[-2000:]
    return tmp / "exp1" / "embedded", err


def test_table_has_a_row_per_method_with_every_column(embedded_run):
    out, _ = embedded_run
    table = pd.read_csv(out / "table.csv")
    assert list(table["method"]) == QUICK_SUITE
    assert set(TABLE_COLUMNS) <= set(table.columns)
    assert (table["n_images"] == 32).all() and (table["n_references"] == 8).all()
    assert (table["n_pairs"] == 32 * 8 - 8).all() and (table["resize"] == "fixed 48x48").all()
    assert table["accuracy"].between(0, 100).all() and table["accuracy_all_queries"].between(0, 100).all()
    assert (table["mean_s_per_pair"] > 0).all() and (table["prepared_s_per_pair"] > 0).all()


def test_good_methods_are_well_above_chance(embedded_run):
    table = pd.read_csv(embedded_run[0] / "table.csv").set_index("method")
    assert (table.loc[STRONG, "accuracy"] >= 60).all(), table.loc[STRONG, "accuracy"]
    # The article's uint8 wrap-around makes its Euclidean calls worse than the true distance.
    assert table.loc["euclidean_numpy", "accuracy"] < table.loc["euclidean_numpy_float", "accuracy"]


@pytest.mark.slow  # the article loop's CNN calls
def test_cnn_rows_and_meta_name_the_backbone_and_weights(embedded_cnn_run):
    out, _ = embedded_cnn_run
    table = pd.read_csv(out / "table.csv").set_index("method")
    assert list(table.index) == CNNS and (table["accuracy"] >= 60).all()
    meta = json.loads((out / "meta.json").read_text())
    for name in CNNS:
        assert table.loc[name, "backbone"] == "efficientnet-lite0"
        assert len(table.loc[name, "weights_sha256"]) == 64
        assert meta["methods"][name]["weights_sha256"] == table.loc[name, "weights_sha256"]
    run_info = next(iter(meta["runs"].values()))
    assert {"versions", "cpu_model", "threads", "git_commit"} <= set(run_info["environment"])
    assert run_info["config"]["dataset"]["name"] == "embedded"


def test_metrics_agree_with_the_tables_own_figures(embedded_run):
    out, _ = embedded_run
    table = pd.read_csv(out / "table.csv").set_index("method")
    # recall@3 over every query is the all-queries accuracy: two code paths, one number.
    assert (table["r_at_3"] * 100 - table["accuracy_all_queries"]).abs().max() < 1e-9
    assert table[["map", "pair_auc", "pair_ap"]].apply(lambda c: c.between(0, 1)).all().all()
    thresholds = pd.read_csv(out / "thresholds.csv").set_index("method")
    assert list(thresholds.index) == QUICK_SUITE
    assert (thresholds["auc"] == table["pair_auc"]).all()
    assert {"best_f1", "threshold_at_best_f1", "precision", "recall", "threshold_at_p99", "auc", "ap"} <= set(
        thresholds.columns
    )
    curve = pd.read_csv(out / "pr_curve.csv")
    assert set(curve["method"]) == set(QUICK_SUITE) and curve["precision"].between(0, 1).all()
    assert (out / "pr.png").read_bytes()[:4] == b"\x89PNG"


def test_queries_and_plot_are_written(embedded_run):
    out, _ = embedded_run
    queries = pd.read_csv(out / "queries.csv")
    article = queries[queries["protocol"] == "article"]
    assert len(article) == len(QUICK_SUITE) * 8 * 3
    assert len(queries[queries["protocol"] == "all_queries"]) == len(QUICK_SUITE) * 32 * 3
    assert (queries["query"] != queries["retrieved"]).all()
    assert (out / "table1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_later_run_of_one_method_keeps_the_other_rows(embedded_run, tmp_path):
    out, _ = embedded_run
    before = pd.read_csv(out / "table.csv")
    code, err = run_in_process(
        out.parent.parent,
        "dataset=embedded",
        "method=ahash",
        "dataset.resize.width=48",
        "dataset.resize.height=48",
        "force=true",
    )
    assert code == 0, err[-2000:]
    after = pd.read_csv(out / "table.csv")
    assert list(after["method"]) == list(before["method"])
    assert after.set_index("method").loc["ahash", "run_id"] != before.set_index("method").loc["ahash", "run_id"]


@pytest.mark.slow
def test_multirun_over_methods(tmp_path):
    done = run_cli(
        tmp_path, "-m", "method=ahash,cosine", "dataset=embedded", "dataset.resize.width=48", "dataset.resize.height=48"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(pd.read_csv(tmp_path / "exp1" / "embedded" / "table.csv")["method"]) == ["ahash", "cosine"]


def test_missing_data_falls_back_to_embedded_only_when_asked(tmp_path, caplog):
    missing = ["dataset=fruits360", f"data_root={tmp_path / 'none'}", "method=ahash"]
    code, err = run_in_process(tmp_path, *missing)
    assert code == 2 and "no folder at" in err
    with caplog.at_level(logging.WARNING, logger="dupbench"):
        code, err = run_in_process(tmp_path, *missing, "dataset_fallback=embedded")
    assert code == 0, err[-2000:]
    assert "using dataset=embedded" in caplog.text
    assert (tmp_path / "exp1" / "embedded" / "table.csv").is_file()


def test_experiment_2_binds_sfbench_and_its_stand_in_in_its_config(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="dupbench"):
        code, err = run_in_process(
            tmp_path,
            "experiment=exp2",
            f"data_root={tmp_path / 'none'}",
            "method=ahash",
            f"dataset.root={tmp_path / 'none'}",
        )
    assert code == 2 and "no folder at" in err  # the stand-in (ukbench) is under the same missing root
    assert "using dataset=ukbench instead" in caplog.text


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (["dataset=nosuchset"], f"unknown dataset 'nosuchset'; valid: {', '.join(group_options('dataset'))}"),
        (["dataset=sfbench", "data_root=/nowhere"], "no folder at /nowhere/sfbench. SFBench"),
        (["dataset=fruits360", "data_root=/nowhere", "method=ahash"], "no folder at /nowhere/fruits360_subset"),
        (
            ["dataset=embedded", "method=cnn_cosine", "backbone=efficientnet-b0"],
            "efficientnet-b0 weights not found; looked in:",
        ),
        (["method=nope"], "unknown method 'nope'"),
    ],
)
def test_user_errors_end_with_one_line_and_no_traceback(tmp_path, overrides, expected):
    code, err = run_in_process(tmp_path, *overrides)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0], err[-2000:]
    assert "Traceback" not in err
    if "SFBench" in expected:
        assert "dataset=ukbench" in lines[0] and "Kaggle" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [["dataset=nosuchset"], ["experiment.top_k=0"], ["method=nope"]])
def test_the_process_exits_2_with_one_line_and_no_traceback(tmp_path, overrides):
    done = run_cli(tmp_path, *overrides)
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
