"""Runs started together into one results_root, stressed on a simulated slow disk (issue 38, point 10).

Six `experiments/run.py` writers once lost a row. The window found: runs started together on a data
set not built yet (a fresh checkout, after `make clean`, a new generator version) each built it, and
a later builder deleted the folder while an earlier one read it: that run stopped on a missing file
and never wrote its rows. The merge of the result files under their locks was not it (the writers'
test below keeps every row); it is stressed here too, so a change to the locks cannot lose one.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments.config import compose_config
from experiments.data import embedded
from experiments.run import execute
from experiments.runners import retrieval
from experiments.tables import read_csv_or_empty

FORK = multiprocessing.get_context("fork")  # the monkeypatched slow disk reaches the children


def slow_disk(monkeypatch: pytest.MonkeyPatch, most: float) -> None:
    """Every fsync, folder removal and rename waits up to `most` seconds, at random, as on a busy disk."""
    real_rmtree, real_replace = shutil.rmtree, os.replace

    def fsync(fd: int) -> None:
        time.sleep(random.uniform(0, most))  # the wait stands for the real flush, which is skipped
        del fd

    def rmtree(path, *args, **kwargs):
        time.sleep(random.uniform(0, most))
        real_rmtree(path, *args, **kwargs)

    def replace(source, target, *args, **kwargs):
        time.sleep(random.uniform(0, most))
        real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    monkeypatch.setattr(os, "replace", replace)


def reseed(_: object = None) -> None:
    random.seed(os.getpid() ^ time.perf_counter_ns())  # forked children would share the parent's draws


# --- the window: a data set built by every run that starts before it exists ------------------------


def build_and_read(root: Path) -> str:
    """One run's first steps: make sure the set is built, then read every file its manifest lists."""
    try:
        embedded.ensure_embedded(root)
        with open(root / "MANIFEST.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            if hashlib.sha256((root / row["path"]).read_bytes()).hexdigest() != row["sha256"]:
                return f"{row['path']}: other bytes than its manifest says"
        return f"read {len(rows)}"
    except Exception as exc:  # what the run would have stopped on
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.slow  # 8 processes x 4 rounds, each round a set built from nothing
def test_runs_started_together_on_a_set_not_built_yet_build_it_once_and_all_read_it(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "PHOTOS", embedded.PHOTOS[:2])  # 8 images: a quick build, the same steps
    slow_disk(monkeypatch, most=0.05)
    log = tmp_path / "builds.log"
    real_build = embedded.build

    def counted_build(root: Path, seed: int = 0) -> None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        real_build(root, seed)

    monkeypatch.setattr(embedded, "build", counted_build)
    for round_ in range(4):
        root = tmp_path / f"round{round_}" / "embedded"
        log.write_text("")
        with FORK.Pool(8, initializer=reseed) as pool:
            outcomes = pool.map(build_and_read, [root] * 8, chunksize=1)
        assert outcomes == ["read 8"] * 8, (round_, outcomes)
        assert len(log.read_text().split()) == 1, round_  # built once; the others waited and used it
        assert sorted(p.name for p in root.parent.iterdir()) == [".locks", "embedded"], round_  # no half-built copy


# --- the writers: every method's rows and meta entry kept, on a slow disk ---------------------------


class StubMethod:
    """What save_method reads of a method: its name, its description and its weights file."""

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> dict[str, object]:
        return {"backbone": None}

    def weights_file(self) -> None:
        return None


def save_one(args: tuple[str, str]) -> None:
    """A run's writes for one finished method: its old row out, its companions, meta.json, its new row."""
    out_dir, name = Path(args[0]), args[1]
    row = {"method": name, "dataset": "d", "accuracy": 50.0, "run_id": f"run-{name}", "finished_at": "now"}
    queries = [{"method": name, "query": q, "found": q % 2} for q in range(4)]
    curve = pd.DataFrame({"method": [name] * 3, "threshold": [0.1, 0.5, 0.9]})
    thresholds = {"method": name, "value": 0.5}
    cfg = {"experiment": {"name": "exp1"}}
    retrieval.save_method(out_dir, cfg, {}, StubMethod(name), row, queries, thresholds, curve)  # type: ignore[arg-type]


@pytest.mark.slow  # 12 processes x 4 rounds, 6 locked read-modify-writes each
def test_twelve_writers_on_a_slow_disk_keep_every_row_four_rounds(tmp_path, monkeypatch):
    slow_disk(monkeypatch, most=0.004)
    real_read = read_csv_or_empty

    def slow_read(path: Path) -> pd.DataFrame:  # a slow read widens each read-modify-write
        frame = real_read(path)
        time.sleep(random.uniform(0, 0.004))
        return frame

    monkeypatch.setattr(retrieval, "read_csv_or_empty", slow_read)
    monkeypatch.setattr("experiments.tables.read_csv_or_empty", slow_read)
    names = [f"method{i:02d}" for i in range(12)]
    for round_ in range(4):
        out = tmp_path / f"round{round_}"
        with FORK.Pool(12, initializer=reseed) as pool:
            pool.map(save_one, [(str(out), name) for name in names], chunksize=1)
        for table in ("table.csv", "thresholds.csv"):
            assert sorted(pd.read_csv(out / table)["method"]) == names, (round_, table)
        for table, per_method in (("queries.csv", 4), ("pr_curve.csv", 3)):
            counts = pd.read_csv(out / table)["method"].value_counts()
            assert sorted(counts.index) == names and set(counts) == {per_method}, (round_, table)
        assert sorted(json.loads((out / "meta.json").read_text())["methods"]) == names, round_
        assert not [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".locks"], round_


# --- the whole run: six runs on a data set not built yet, each keeps its row ------------------------


def run_one(args: tuple[str, str, str]) -> str:
    results, data, method = args
    cfg = compose_config(
        [
            f"results_root={results}",
            "dataset=embedded",
            f"dataset.root={data}",
            "engine=fast",
            f"method.names=[{method}]",
            "dataset.resize.width=32",
            "dataset.resize.height=32",
        ]
    )
    try:
        execute(cfg)
    except Exception as exc:
        return f"{method}: {type(exc).__name__}: {exc}"
    return "done"


@pytest.mark.slow  # 6 whole runs x 2 rounds
def test_six_runs_on_a_set_not_built_yet_each_keep_their_row(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "PHOTOS", embedded.PHOTOS[:2])
    monkeypatch.setattr(retrieval, "draw_plots", lambda *args: None)  # matplotlib: seconds a run, no rows
    slow_disk(monkeypatch, most=0.02)
    methods = ["ahash", "dhash", "phash", "whash", "colorhash", "euclidean_numpy"]
    for round_ in range(2):
        results, data = tmp_path / f"results{round_}", tmp_path / f"data{round_}" / "embedded"
        with FORK.Pool(6, initializer=reseed) as pool:
            outcomes = pool.map(run_one, [(str(results), str(data), m) for m in methods], chunksize=1)
        assert outcomes == ["done"] * 6, (round_, outcomes)
        table = pd.read_csv(results / "exp1-fast" / "embedded" / "table.csv")
        assert sorted(table["method"]) == sorted(methods), round_
