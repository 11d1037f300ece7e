"""Past one process (issue 17): Hydra's launcher plugins give the same table rows as a sequential
sweep, each row naming its job; sharded extraction through submitit's local executor gives exactly
the one-machine features and neighbours. Whole processes: slow tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT
from tests.conftest import run_cli

SWEEP = ("-m", "experiment=exp1", "engine=fast", "dataset=embedded", "method=ahash,phash,cosine")
SAME = ["method", "accuracy", "accuracy_all_queries", "map", "pair_ap", "pair_auc", "fingerprint"]


def sweep(tmp, *launcher: str) -> pd.DataFrame:
    tmp.mkdir(parents=True, exist_ok=True)
    done = run_cli(tmp, *SWEEP, *launcher)
    assert done.returncode == 0, done.stderr[-2000:]
    return pd.read_csv(tmp / "exp1-fast" / "embedded" / "table.csv").sort_values("method").reset_index(drop=True)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_a_launcher_multirun_gives_the_sequential_rows_each_naming_its_job(tmp_path, launcher):
    sequential = sweep(tmp_path / "basic")
    parallel = sweep(tmp_path / launcher, f"hydra/launcher={launcher}")
    assert len(parallel) == 3 and len(sequential) == 3
    pd.testing.assert_frame_equal(parallel[SAME], sequential[SAME])
    assert parallel["job"].str.match(r"^(joblib|local)#[0-2]").all(), parallel["job"].tolist()
    assert sorted(sequential["job"]) == ["basic#0", "basic#1", "basic#2"]


def test_the_slurm_launcher_config_exposes_partition_time_cpus_and_memory():
    from hydra import compose, initialize_config_dir

    from experiments.paths import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert {"partition", "timeout_min", "cpus_per_task", "mem_gb"} <= set(launcher)


@pytest.mark.slow
def test_two_shards_through_submitits_local_executor_give_the_one_machine_result(tmp_path):
    from dupbench.methods import create_method
    from dupbench.methods.search import top_k
    from experiments.data.encode import Decode, encode, file_digests
    from experiments.tools.shards import merge, run_shards

    ensure_embedded(REPO_ROOT / "data" / "embedded")
    paths = sorted((REPO_ROOT / "data" / "embedded").rglob("*.png")) + sorted(
        (REPO_ROOT / "data" / "embedded").rglob("*.jpg")
    )
    for name in ("phash", "sscd_distilled"):
        encoded = run_shards(name, paths, 2, tmp_path / "cache", "local", tmp_path / "jobs")
        assert sum(encoded) == len(paths) and all(encoded)  # each shard did its half
        merged = merge(name, paths, tmp_path / "cache", k=5)
        method = create_method(name)
        alone = encode(method, paths, file_digests(paths, 2), Decode.for_method(method)).prepared
        assert np.array_equal(merged["prepared"], alone)
        indices, scores = top_k(method, alone, 5)
        assert np.array_equal(merged["indices"], indices) and np.array_equal(merged["scores"], scores)
