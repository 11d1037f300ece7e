"""make report: REPORT.md from result files only; every table and plot that exists is in it."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from experiments.paths import BASELINES
from experiments.reporting.labels import with_labels
from experiments.tools import report


def images_of(text: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)


@pytest.mark.slow  # the whole report drawn from every committed baseline
def test_without_run_outputs_the_committed_baselines_stand_in(tmp_path):
    out = tmp_path / "REPORT.md"
    seen = report.build(tmp_path, out)
    text = out.read_text()
    assert {"exp1/embedded", "exp1/fruits360", "exp2/ukbench", "exp2-transforms/embedded", "exp3/fruits360"} <= set(
        seen
    )
    assert text.count("committed baseline") >= 5
    for link in images_of(text):  # plots redrawn from the baseline CSVs, beside the report
        assert (tmp_path / link).is_file(), link
    for name in with_labels(pd.read_csv(BASELINES / "exp2-ukbench.csv"))["method"]:
        assert f"| {name} |" in text


@pytest.mark.slow  # a whole Experiment 1 run, then its report with plots and calibration (6 s)
def test_run_outputs_with_thresholds_plots_and_calibration(tmp_path):
    run_dir = tmp_path / "exp1" / "embedded"
    run_dir.mkdir(parents=True)
    shutil.copyfile(BASELINES / "exp1-embedded.csv", run_dir / "table.csv")
    pd.DataFrame(
        [
            {
                "experiment": "exp1",
                "dataset": "embedded",
                "method": "ahash",
                "direction": "distance",
                "auc": 0.5,
                "ap": 0.25,
                "best_f1": 0.4,
                "threshold_at_best_f1": 7.0,
                "precision": 0.3,
                "recall": 0.6,
                "threshold_at_p99": float("nan"),
            }
        ]
    ).to_csv(run_dir / "thresholds.csv", index=False)
    (run_dir / "pr.png").write_bytes(b"png")
    (run_dir / "table1.png").write_bytes(b"png")
    calib = tmp_path / "calibrate" / "embedded"
    calib.mkdir(parents=True)
    rows = [
        {
            "method": "ahash",
            "rule": rule,
            "threshold": t,
            "pair_precision": 1.0,
            "pair_recall": 1.0,
            "pairwise_precision": 1.0,
            "pairwise_recall": r,
            "pairwise_f1": f,
            "n_clusters": n,
            "n_groups": 8,
            "dataset": "embedded",
            "machine": "test box",
            "git_commit": "abc",
            "finished_at": "2026-11-25T00:00:00",
        }
        for rule, t, r, f, n in [
            ("best_f1", 9, 1.0, 1.0, 8),
            ("p99", 9, 1.0, 1.0, 8),
            ("given (fruits360)", 2, 0.5, 2 / 3, 16),
        ]
    ]
    pd.DataFrame(rows).to_csv(calib / "calibration.csv", index=False)
    bench = tmp_path / "bench-scale"
    bench.mkdir()
    stamp = {"machine": "test box", "torch_threads": 2, "git_commit": "abc", "finished_at": "2026-11-25T00:00:00"}
    pd.DataFrame(
        [
            {
                "part": "article_vs_fast",
                "method": "ahash",
                "n": 96,
                "status": "ok",
                "article_s_per_pair": 1e-4,
                "fast_s_per_pair": 1e-6,
                "speedup": 100.0,
                **stamp,
            },
            {
                "part": "article_vs_fast",
                "method": "ssim",
                "n": 96,
                "status": "ok",
                "article_s_per_pair": 1e-2,
                "fast_s_per_pair": 2e-5,
                "speedup": 500.0,
                **stamp,
            },
            {
                "part": "scale",
                "method": "ahash",
                "n": 100000,
                "status": "ok",
                "prepare_s": 3.0,
                "search_s": 6.0,
                "total_s": 9.0,
                "peak_rss_mib": 2200.0,
                **stamp,
            },
            {"part": "scale", "method": "ssim", "n": 100000, "status": "skipped", "predicted_s": 7900.0, **stamp},
        ]
    ).to_csv(bench / "scale.csv", index=False)
    out = tmp_path / "REPORT.md"
    seen = report.build(tmp_path, out)
    text = out.read_text()
    assert seen[0] == "exp1/embedded" and "calibrate/embedded" in seen and "bench-scale" in seen
    assert "100.0x (ahash) to 500x (ssim)" in text and "Largest N run: 100000 (ahash, 9.0 s)" in text
    assert "| ssim | 100000 | skipped |  |  |  |  | 7900 |" in text
    assert "exp1/embedded/pr.png" in images_of(text) and "exp1/embedded/table1.png" in images_of(text)
    assert "| ahash | distance | 0.500 | 0.250 | 0.400 | 7 | 0.300 | 0.600 |  |" in text
    assert "change pairwise F1 by -0.333 to -0.333" in text
    assert "test box" in text
