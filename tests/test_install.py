"""`pip install dupbench` is the finder alone, light and complete (issues 22 and 40).

The wheel holds `dupbench` and its shipped thresholds only. And as a new user would, on each Python the
product supports: a fresh venv, a plain `pip install` of a copy of the checkout (not editable; its
declared dependencies from the registry; nothing installed by hand), then `dupbench find` at its
default on a folder of photos, from another folder. What the install adds to the venv stays within
BUDGET_KIB, without the benchmark's libraries. The default runs: on Python >= 3.12 the default itself
(its model's package is a dependency there); on 3.11, where pip leaves that package out, the next
method offered, with the line that says why. `make install-check` runs these (CI calls it): the three
installs side by side (pip's wheel cache is shared, the venvs are not), a few minutes in all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from dupbench.finder.recommend import TWO_STAGES
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT

PYTHONS = {"3.11": "3.11.7", "3.12": "3.12.1", "3.13": "3.13.0"}  # pyenv's, on these machines
# `du -s` of the whole venv after the install (every .pyc and the venv's own pip included), as issue 40
# asks: at most 500 MB. With OpenCV in the plain install it was 490 MiB on 3.11 (no SSCD models there), 503
# on 3.12 and 500 on 3.13, with faiss-cpu (66 MiB); the finder searches with numpy since (issue 39).
BUDGET_KIB = 500_000_000 // 1024
HEAVY = ("torch", "hydra", "pandas", "matplotlib", "scipy")  # the benchmark's, never the finder's
UKBENCH = REPO_ROOT.parent / "shared" / "datasets" / "ukbench800"
EMBEDDED = REPO_ROOT / "data" / "embedded"
# Without the benchmark's PYTHONPATH or its venv: the checkout must not be visible to what is installed.
OUTSIDE = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}


def python_of(version: str) -> Path:
    return Path.home() / ".pyenv" / "versions" / PYTHONS[version] / "bin" / "python"


def checkout_copy(into: Path) -> Path:
    """The checkout's files as they are in the work tree, new ones too, not what git ignores (.venv, results):
    what a clone holds once they are committed, and what every other test runs."""
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(listing, cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = checkout_copy(tmp_path_factory.mktemp("source"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    subprocess.run([*command, str(source)], check=True, capture_output=True, env=OUTSIDE)
    return next(out.glob("dupbench-*.whl"))


def test_the_wheel_holds_dupbench_and_its_thresholds_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.startswith("dupbench-")}
    assert tops == {"dupbench"}, tops
    assert "dupbench/finder/thresholds.json" in names


@pytest.fixture(scope="module")
def installs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.Popen]]:
    """Each Python's venv, its plain install started at once (each from its own copy: pip builds in it)."""
    started = {}
    for version in PYTHONS:
        if not python_of(version).is_file():
            continue
        home = tmp_path_factory.mktemp(f"py{version}")
        source = checkout_copy(home / "dupbench")
        venv = home / "venv"
        script = (
            f"'{python_of(version)}' -m venv '{venv}' && du -sk '{venv}' > '{home}/fresh.du' && "
            f"'{venv}/bin/python' -m pip install -q '{source}'"
        )
        log = (home / "install.log").open("w")
        started[version] = venv, subprocess.Popen(["sh", "-c", script], stdout=log, stderr=log, env=OUTSIDE)
    yield started
    for _, process in started.values():
        process.kill()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Ten photos of ten objects, and a copy of the first at half size, saved again at quality 70: a near
    duplicate (not the same bytes or pixels), which the default groups with its original."""
    folder = tmp_path_factory.mktemp("photos")
    if UKBENCH.is_dir():
        sources = sorted(UKBENCH.glob("*.jpg"))[:40:4]  # UKBench shows each object 4 times: one of each
    else:
        ensure_embedded(EMBEDDED)
        sources = sorted(path for path in EMBEDDED.rglob("*.jpg"))[:10]
    for number, source in enumerate(sources):
        shutil.copy(source, folder / f"{number:02d}-{source.name}")
    original = sorted(folder.iterdir())[0]
    with Image.open(original) as image:
        copy = folder / "copy.jpg"
        image.convert("RGB").resize((image.width // 2, image.height // 2)).save(copy, quality=70)
    return folder, original, copy


@pytest.mark.slow
@pytest.mark.install
@pytest.mark.parametrize("version", list(PYTHONS))
def test_a_plain_install_is_light_and_finds_at_its_default(version, installs, photos, tmp_path):
    if version not in installs:
        pytest.skip(f"no Python {version} at {python_of(version)}")
    venv, process = installs[version]
    assert process.wait(timeout=900) == 0, (venv.parent / "install.log").read_text()[-3000:]
    size = int(subprocess.run(["du", "-sk", str(venv)], capture_output=True, text=True).stdout.split()[0])
    fresh = int((venv.parent / "fresh.du").read_text().split()[0])
    print(f"Python {version}: the install adds {(size - fresh) / 1024:.1f} MiB, the venv {size / 1024:.1f} MiB")
    assert size <= BUDGET_KIB, f"the venv is {size / 1024:.0f} MiB (the install adds {(size - fresh) / 1024:.0f})"
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"], capture_output=True)
    names = {entry["name"].lower() for entry in json.loads(listed.stdout)}
    assert not {name for name in names if name.startswith(HEAVY)}, names

    folder, original, copy = photos
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # a user's cache folder of its own
    done = subprocess.run(
        [str(venv / "bin" / "dupbench"), "find", str(folder), "--quiet", "--json", "-"],
        cwd=elsewhere,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    answer = json.loads(done.stdout)
    grouped = [{Path(member["path"]).name for member in group["members"]} for group in answer["groups"]]
    assert {original.name, copy.name} in grouped and done.returncode == 1, (grouped, done.stderr)
    # The default is the two stages: OpenCV is in the plain install, and every candidate pair was verified.
    assert answer["verified"], answer["threshold_source"]
    if version >= "3.12":
        assert answer["method"] == TWO_STAGES[0][0], answer["threshold_source"]
    else:  # pip leaves the default's model out here: the next candidates, with why and what brings it
        assert answer["method"] == TWO_STAGES[1][0]
        assert "in place of the default's" in answer["threshold_source"] and "pip install" in done.stderr
    assert answer["threshold"] == float(dict(TWO_STAGES)[answer["method"]])
    for package in ("methods", "experiments"):  # the benchmark is never installed as a package
        probe = [str(venv / "bin" / "python"), "-c", f"import {package}"]
        assert subprocess.run(probe, cwd=elsewhere, env=clean, capture_output=True).returncode != 0, package
