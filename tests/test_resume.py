"""Nothing lost: an interrupted run keeps every finished method, and a rerun resumes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ARTICLE_SUITE, run_in_process

from dupbench.methods import DupbenchError
from experiments.data import load_dataset
from experiments.paths import REPO_ROOT
from experiments.runners import retrieval

SMALL = ["dataset=embedded", "dataset.resize.width=64", "dataset.resize.height=64"]


def interruptible() -> None:
    # A shell's background job inherits SIGINT ignored, and Python then installs no Ctrl-C handler:
    # the run under test gets the disposition a terminal would give it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(out: Path, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "experiments" / "run.py"), f"results_root={out}", *SMALL, *overrides],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )


def finished_methods(table: Path) -> list[str]:
    try:
        return list(pd.read_csv(table)["method"])
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return []


@pytest.mark.slow  # a real process, interrupted
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_interrupted_run_keeps_finished_methods_and_the_rerun_resumes(tmp_path, how):
    table = tmp_path / "exp1" / "embedded" / "table.csv"
    run = start(tmp_path, "method=article")
    deadline = time.time() + 300
    while len(finished_methods(table)) < 3 and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(how)
    _, err = run.communicate(timeout=120)
    if how == signal.SIGINT:
        assert run.returncode == 130 and "run again to resume" in err
    before = pd.read_csv(table).set_index("method")  # still a whole, readable table
    assert 3 <= len(before) < 9, "the run finished before it could be interrupted"
    rerun = start(tmp_path, "method=article")
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err[-2000:]
    after = pd.read_csv(table).set_index("method")
    assert len(after) == len(ARTICLE_SUITE)
    assert (after.loc[before.index, "run_id"] == before["run_id"]).all()  # not recomputed
    assert (out + err).count("already in") == len(before)


def test_force_redoes_a_finished_method(tmp_path):
    run_ids = []
    for extra in ([], [], ["force=true"]):
        code, err = run_in_process(tmp_path, *SMALL, "method=ahash", *extra)
        assert code == 0, err[-2000:]
        run_ids.append(pd.read_csv(tmp_path / "exp1" / "embedded" / "table.csv")["run_id"].item())
    assert run_ids[0] == run_ids[1] != run_ids[2]  # kept on a plain rerun, redone when forced


def test_a_crash_in_one_method_keeps_the_others(tmp_path, monkeypatch):
    dataset = load_dataset(
        {
            "name": "embedded",
            "kind": "embedded",
            "root": str(REPO_ROOT / "data" / "embedded"),
            "resize": {"mode": "fixed", "width": 48, "height": 48},
        }
    )
    real = retrieval.evaluate

    def flaky(experiment, method, *args):
        if method.name == "cosine":
            raise RuntimeError("boom")
        return real(experiment, method, *args)

    monkeypatch.setattr(retrieval, "evaluate", flaky)
    cfg = {
        "backbone": "auto",
        "weights_path": None,
        "force": False,
        "experiment": {"name": "exp1", "top_k": 3, "plot": "table1.png"},
        "method": {"names": ["ahash", "cosine", "euclidean_numpy_float"]},
    }
    with pytest.raises(DupbenchError, match="1 method.* failed: cosine"):
        retrieval.run(cfg, dataset, tmp_path)
    assert list(pd.read_csv(tmp_path / "table.csv")["method"]) == ["euclidean_numpy_float", "ahash"]


KILLED_AT = """
import os, signal, sys
sys.path.insert(0, {repo!r}); sys.path.insert(0, {tests!r})
from conftest import run_in_process
from experiments.runners import retrieval
writes = 0

def killing(write):
    def wrapped(*args, **kwargs):
        global writes
        writes += 1
        if writes == {kill_before}:
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9, between two of the method's writes
        return write(*args, **kwargs)
    return wrapped

for name in ("drop_rows", "upsert_rows", "update_json"):
    setattr(retrieval, name, killing(getattr(retrieval, name)))
code, err = run_in_process({out!r}, *{overrides!r})
print("writes", writes)
sys.exit(code)
"""


def rows_with_other_runs_companions(out: Path) -> list[str]:
    """Table rows whose run_id is missing from a companion file or meta.json."""
    table = pd.read_csv(out / "table.csv") if (out / "table.csv").is_file() else pd.DataFrame()
    meta = json.loads((out / "meta.json").read_text()).get("methods", {})
    wrong = []
    for method, run_id in zip(table.get("method", []), table.get("run_id", [])):
        for name in retrieval.COMPANIONS:
            c = pd.read_csv(out / name)
            if not ((c["method"] == method) & (c["run_id"] == run_id)).any():
                wrong.append(f"{method}: {name}")
        if meta.get(method, {}).get("run_id") != run_id:
            wrong.append(f"{method}: meta.json")
    return wrong


@pytest.mark.slow  # one process per kill point, each killed with SIGKILL
def test_a_kill_during_a_forced_redo_never_leaves_a_row_beside_another_runs_companions(tmp_path):
    overrides = [*SMALL, "engine=fast", "method.names=[ahash,dhash]"]
    code, err = run_in_process(tmp_path, *overrides)
    assert code == 0, err[-2000:]
    out = tmp_path / "exp1-fast" / "embedded"
    first = pd.read_csv(out / "table.csv").set_index("method")["run_id"]
    tests = str(Path(__file__).parent)
    writes_per_redo = None
    for kill_before in range(1, 14):  # every write of both methods' redo: drop, 3 companions, meta, row
        script = KILLED_AT.format(
            repo=str(REPO_ROOT),
            tests=tests,
            kill_before=kill_before,
            out=str(tmp_path),
            overrides=[*overrides, "force=true"],
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        if done.returncode == 0:  # this redo had fewer writes than kill_before: every point was tried
            writes_per_redo = int(done.stdout.split()[-1])
            break
        assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
        assert rows_with_other_runs_companions(out) == [], f"killed before write {kill_before}"
    assert writes_per_redo == 12, writes_per_redo  # 6 writes per method: each kill point was hit
    now = pd.read_csv(out / "table.csv").set_index("method")["run_id"]
    assert set(now.index) == {"ahash", "dhash"} and (now != first).all()  # the last redo finished both
