"""The command the project was asked to serve, `python experiments/run.py method=cnn_cosine
dataset=sfbench`: without SFBench staged it runs on its stand-in (UKBench) and says so first, its
results labelled with the data used; with SFBench staged it runs on SFBench (issue 42, point 2)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_in_process

from experiments import run
from experiments.config import compose_config
from experiments.paths import repo_path


def data_root() -> Path:
    """The data root as the code reads it (DUPBENCH_DATA, else ../shared/datasets)."""
    return repo_path(compose_config([]).data_root)


@pytest.fixture
def without_sfbench(tmp_path) -> Path:
    """A data root holding UKBench (linked from the real one) and no SFBench, whatever is staged."""
    ukbench = data_root() / "ukbench_subset"
    if not ukbench.is_dir():
        pytest.skip(f"UKBench is not staged at {ukbench} (set DUPBENCH_DATA)")
    root = tmp_path / "data"
    root.mkdir()
    (root / "ukbench_subset").symlink_to(ukbench)
    return root


@pytest.fixture
def runs(monkeypatch) -> list[tuple[dict, object, Path]]:
    """What the experiment's runner was handed, without running it (the CNN's loop takes minutes)."""
    seen: list[tuple[dict, object, Path]] = []
    monkeypatch.setattr(run, "runner", lambda spec: lambda cfg, dataset, out: seen.append((cfg, dataset, out)))
    return seen


def test_the_asked_command_runs_on_the_stand_in_and_says_so_first(tmp_path, without_sfbench, runs, caplog):
    with caplog.at_level(logging.INFO, logger="dupbench"):
        code, err = run_in_process(tmp_path, "method=cnn_cosine", "dataset=sfbench", f"data_root={without_sfbench}")
    assert code == 0, err[-2000:]
    ((cfg, dataset, out),) = runs
    assert dataset.name == "ukbench" and len(dataset.items) == 40
    assert cfg["dataset"]["name"] == "ukbench" and cfg["method"]["names"] == ["cnn_cosine"]
    assert out == tmp_path / "exp1" / "ukbench"  # labelled with the data used, never as sfbench
    first = caplog.records[0].getMessage()
    assert first.startswith("using dataset=ukbench instead of dataset=sfbench"), first
    assert f"no folder at {without_sfbench / 'sfbench'}" in first and "put its photos in that folder" in first
    assert "\n" not in first


def test_results_of_the_stand_in_run_name_ukbench(tmp_path, without_sfbench):
    code, err = run_in_process(tmp_path, "method=ahash", "dataset=sfbench", f"data_root={without_sfbench}")
    assert code == 0, err[-2000:]
    table = pd.read_csv(tmp_path / "exp1" / "ukbench" / "table.csv")
    assert set(table["dataset"]) == {"ukbench"} and len(table) == 1
    assert not (tmp_path / "exp1" / "sfbench").exists()


def test_with_sfbench_staged_it_runs_on_sfbench(tmp_path, without_sfbench, runs, caplog):
    staged = without_sfbench / "sfbench"  # 8 photos in the article's naming: two groups of 4
    staged.mkdir()
    for i, photo in enumerate(sorted((without_sfbench / "ukbench_subset").glob("*.jpg"))[:8]):
        shutil.copyfile(photo, staged / f"IMG_{i:04d}.jpg")
    with caplog.at_level(logging.WARNING, logger="dupbench"):
        code, err = run_in_process(tmp_path, "method=cnn_cosine", "dataset=sfbench", f"data_root={without_sfbench}")
    assert code == 0, err[-2000:]
    ((cfg, dataset, out),) = runs
    assert dataset.name == "sfbench" and len(dataset.items) == 8 and out == tmp_path / "exp1" / "sfbench"
    assert "instead" not in caplog.text


def test_without_sfbench_or_its_stand_in_the_error_names_sfbench_first(tmp_path):
    code, err = run_in_process(tmp_path, "method=ahash", "dataset=sfbench", f"data_root={tmp_path / 'none'}")
    assert code == 2
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: data set 'sfbench': no folder at {tmp_path / 'none' / 'sfbench'}")
    assert "stand-in is missing too" in line and "ukbench_subset" in line
