"""Sharded extraction and search (issue 17): past one machine without a home-made scheduler.

N images are split into shards; each shard's representations are computed by one job (submitit:
its local executor here, Slurm on a cluster, or inline) into the feature cache that every job
shares (a folder on a shared file system: one .npy per image, written atomically, keyed by the
file's sha256, the method, its code and the decode); one merge step then reads them back in the
data set's order and searches them (methods.search: an exact flat search) and forms the groups.
Because a row depends only on its own image, the merged result is the one-machine result exactly.

    python -m experiments.tools.shards --dataset ukbench800 --method sscd_distilled --shards 2 \
        --executor local --threshold 0.6
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from dupbench.errors import DupbenchError
from dupbench.methods import create_method
from dupbench.methods.search import top_k
from experiments.config import compose_config
from experiments.data import load_dataset
from experiments.data.encode import Decode, cached_rows, encode, file_digests
from experiments.paths import REPO_ROOT


def dataset_paths(dataset: str, overrides: tuple[str, ...] = ()) -> list[Path]:

    cfg = compose_config([f"dataset={dataset}", *overrides])
    return [item.path for item in load_dataset(cfg.dataset).items]


def shard_of(paths: list[Path], shard: int, shards: int) -> list[Path]:
    """Contiguous slices: shard i of n takes images [i*N/n, (i+1)*N/n)."""
    n = len(paths)
    return paths[shard * n // shards : (shard + 1) * n // shards]


def encode_shard(method_name: str, paths: list[Path], cache_dir: Path, workers: int = 2) -> int:
    """One job: its images' rows into the shared cache; the number it encoded (not found there)."""

    method = create_method(method_name)
    if method.index_kind is None:
        raise DupbenchError(f"{method_name}: its representation is not one array per image; it cannot be sharded")
    digests = file_digests(paths, workers)
    done = encode(method, paths, digests, Decode.for_method(method), cache_dir, workers, always_cache=True)
    return len(paths) - done.cache_hits


def merge(method_name: str, paths: list[Path], cache_dir: Path, k: int, workers: int = 2) -> dict[str, Any]:
    """Every image's row from the cache (all of them must be there), its k nearest others."""

    method = create_method(method_name)
    digests = file_digests(paths, workers)
    rows = cached_rows(method, digests, Decode.for_method(method), cache_dir, always_cache=True)
    missing = [str(p) for p, row in zip(paths, rows) if row is None]
    if missing:
        raise DupbenchError(
            f"{len(missing)} images have no row in {cache_dir} yet (first {missing[0]}): run every shard"
        )
    prepared = np.stack(rows)
    indices, scores = top_k(method, prepared, min(k, len(paths) - 1))
    return {"prepared": prepared, "indices": indices, "scores": scores}


def run_shards(
    method_name: str, paths: list[Path], shards: int, cache_dir: Path, executor: str, folder: Path, **slurm: Any
) -> list[int]:
    """Each shard as one job; the number each encoded."""
    parts = [shard_of(paths, i, shards) for i in range(shards)]
    if executor == "inline":
        return [encode_shard(method_name, part, cache_dir) for part in parts]
    import submitit

    if executor == "local":
        pool = submitit.LocalExecutor(folder=str(folder))
        pool.update_parameters(timeout_min=int(slurm.get("timeout_min", 60)))
    elif executor == "slurm":
        pool = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
        pool.update_parameters(**slurm)
    else:
        raise DupbenchError(f"--executor {executor!r}: inline, local or slurm")
    jobs = pool.map_array(encode_shard, [method_name] * shards, parts, [cache_dir] * shards)
    return [job.result() for job in jobs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ukbench800")
    parser.add_argument("--method", default="sscd_distilled")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--executor", default="local", choices=("inline", "local", "slurm"))
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / "results" / "cache" / "features")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--partition", default=None, help="Slurm partition (--executor slurm)")
    parser.add_argument("--time-min", type=int, default=60)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--mem-gb", type=int, default=8)
    args = parser.parse_args()
    paths = dataset_paths(args.dataset)
    slurm = {"timeout_min": args.time_min}
    if args.executor == "slurm":
        slurm |= {"slurm_partition": args.partition, "cpus_per_task": args.cpus, "mem_gb": args.mem_gb}
    start = time.perf_counter()
    folder = REPO_ROOT / "results" / "shards" / "jobs"
    encoded = run_shards(args.method, paths, args.shards, args.cache, args.executor, folder, **slurm)
    merged = merge(args.method, paths, args.cache, args.k)
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "method": args.method,
                "shards": args.shards,
                "encoded_per_shard": encoded,
                "images": len(paths),
                "seconds": round(time.perf_counter() - start, 2),
                "nearest_of_first": merged["indices"][0].tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
