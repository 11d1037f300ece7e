"""Shared fixtures: small real photos from scikit-image, and tiny synthetic images."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from experiments.paths import REPO_ROOT
from experiments.runners.common import method_names_of

# The default method set (`method=article`): the article's methods and their corrected variants.
ARTICLE_SUITE = method_names_of({"method": {"names": ["article"]}})


@pytest.fixture(autouse=True, scope="session")
def user_cache_in_a_temporary_folder(tmp_path_factory):
    """`dupbench find`'s default cache is the user's cache folder: never the real one in the tests."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


def photo(name: str, size: tuple[int, int] = (96, 96)) -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB").resize(size)


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    return photo("astronaut")


@pytest.fixture(scope="session")
def coffee() -> Image.Image:
    return photo("coffee")


@pytest.fixture(scope="session")
def astronaut_nudged(astronaut: Image.Image) -> Image.Image:
    """A near-duplicate: rotated by 2 degrees and a little brighter."""
    arr = np.asarray(astronaut.rotate(2, resample=Image.Resampling.BICUBIC), dtype=np.int16) + 8
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def run_cli(tmp: Path, *args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python experiments/run.py ...` as a user types it, in its own process (slow tests only)."""
    flags = [a for a in args if a.startswith("-")]  # Hydra reads flags (-m) before overrides
    overrides = [a for a in args if not a.startswith("-")]
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "experiments" / "run.py"), *flags, f"results_root={tmp}", *overrides],
        capture_output=True,
        text=True,
        cwd=cwd or tmp,
        timeout=600,
        env={**os.environ, "TORCH_HOME": str(tmp / "torch"), **(env or {})},
    )


def run_in_process(tmp: Path, *overrides: str) -> tuple[int, str]:
    """The same command in this process: the checks run.py makes before Hydra, the composed config,
    and the CLI's own handler (exit code and stderr as a user would see them). Fast: no start-up."""
    from dupbench.methods import DupbenchError
    from experiments import run
    from experiments.config import compose_config
    from experiments.settings import check_overrides

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            check_overrides(list(overrides))
            cfg = compose_config([f"results_root={tmp}", *overrides])
            run.main(cfg)  # Hydra hands a ready config straight to the handler
        except DupbenchError as problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2, err.getvalue()
        except SystemExit as done:
            return int(done.code or 0), err.getvalue()
    return 0, err.getvalue()


@pytest.fixture
def open_dir():
    """A folder that the unprivileged user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="dupbench-"))
    path.chmod(0o777)
    yield path
    for p in sorted(path.rglob("*"), reverse=True):
        p.chmod(0o777)
    import shutil

    shutil.rmtree(path)
