"""A plain install (issue 22): the wheel holds `dupbench` and its shipped thresholds only; installed
(not editable) into a fresh environment and used from another folder, `dupbench find` works with its
shipped thresholds, and the benchmark's packages are not importable there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT

EMBEDDED = REPO_ROOT / "data" / "embedded"
# Without the benchmark's PYTHONPATH (experiments/ sets it for its own child processes): the checkout,
# with its dupbench.egg-info, must not be visible to what is installed and run here.
OUTSIDE = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        env=OUTSIDE,
    )
    shutil.rmtree(REPO_ROOT / "build", ignore_errors=True)  # setuptools' work folder, left in the checkout
    return next(out.glob("dupbench-*.whl"))


def test_the_wheel_holds_dupbench_and_its_thresholds_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.startswith("dupbench-")}
    assert tops == {"dupbench"}, tops
    assert "dupbench/finder/thresholds.json" in names


@pytest.mark.slow
def test_a_plain_install_used_from_another_folder_finds_with_the_shipped_thresholds(wheel, tmp_path):
    env = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        env=OUTSIDE,
    )
    # The dependencies (numpy, onnxruntime, ...) from this project's environment, after the new one's own
    # packages: the installed dupbench wins, and .venv's editable finder is never loaded from here.
    own = next(env.glob("lib/python*/site-packages"))
    (own / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    ensure_embedded(EMBEDDED)
    photos = tmp_path / "photos"
    photos.mkdir()
    for source in sorted((EMBEDDED / "astronaut").iterdir()) + sorted((EMBEDDED / "coffee").iterdir()):
        shutil.copy(source, photos / f"{source.parent.name}-{source.name}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [str(env / "bin" / "dupbench"), "find", str(photos), "--quiet", "--json", "-"],
        cwd=elsewhere,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    answer = json.loads(done.stdout)
    shipped = json.loads((REPO_ROOT / "dupbench" / "finder" / "thresholds.json").read_text())
    assert (
        answer["method"] == shipped["default"]
        and answer["threshold"] == shipped["methods"][answer["method"]]["threshold"]
    )
    where = subprocess.run(
        [str(python), "-c", "import dupbench; print(dupbench.__file__)"],
        cwd=elsewhere,
        env=clean,
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip().startswith(str(env)), where
    for package in ("methods", "experiments"):
        probe = subprocess.run([str(python), "-c", f"import {package}"], cwd=elsewhere, env=clean, capture_output=True)
        assert probe.returncode != 0, f"import {package} works in a plain install"
