"""`python -m experiments.data check`: the staged sets pass; one changed byte fails, naming the file."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from experiments.config import group_options
from experiments.data.__main__ import main as data_cli
from experiments.paths import REPO_ROOT
from tests.staged import data_root, needs_staged

SHARED = data_root()  # DUPBENCH_DATA, as the code reads it
needs_shared = needs_staged("fruits360_subset")


@pytest.mark.slow  # every file of every staged set: 800 photos of ukbench800 among them
@needs_shared
def test_staged_data_sets_pass(capsys):
    assert data_cli(["check", "--staged"]) == 0
    out = capsys.readouterr().out
    assert "fruits360: 96 files" in out and "96 ok, 0 with problems [sha256, decode and size]" in out
    assert "ukbench: 40 files" in out and "embedded: 32 files" in out
    assert "ukbench800: 800 files" in out and "800 ok, 0 with problems" in out


@needs_shared
def test_the_article_sets_pass(capsys):
    assert data_cli(["check", "fruits360", "ukbench"]) == 0
    assert "96 ok, 0 with problems [sha256, decode and size]" in capsys.readouterr().out


@pytest.mark.slow
@needs_shared
def test_one_changed_byte_in_a_copy_fails_and_names_the_file(tmp_path):
    copy = tmp_path / "fruits360_subset"
    shutil.copytree(SHARED / "fruits360_subset", copy)
    victim = copy / "Orange_2__r1" / "r1_3.jpg"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    done = subprocess.run(
        [sys.executable, "-m", "experiments.data", "check", "fruits360", f"data_root={tmp_path}"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert done.returncode == 1
    assert "95 ok, 1 with problems" in done.stdout
    assert f"{victim}: sha256" in done.stdout


def test_check_reports_missing_and_undecodable_files_of_a_manifest(tmp_path, capsys):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "bad.jpg").write_text("text")
    (tmp_path / "m.csv").write_text("path,group\ng/bad.jpg,g\ng/gone.jpg,g\n")
    assert data_cli(["check", "folder", f"dataset.root={tmp_path}", f"dataset.manifest={tmp_path / 'm.csv'}"]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'g' / 'gone.jpg'}: missing" in out and "does not decode" in out
    assert "[decode only (no sha256 listed)]" in out


def test_unknown_data_set_is_a_one_line_usage_error(capsys):
    assert data_cli(["check", "nosuch"]) == 2
    valid = ", ".join(group_options("dataset"))
    assert f"unknown dataset 'nosuch'; valid: {valid}" in capsys.readouterr().err


def test_embedded_build_matches_its_committed_manifest(tmp_path, capsys):
    """Fails when a new Pillow or scikit-image changes the generated images: rebuild the manifest
    on purpose (copy data/embedded/MANIFEST.csv to data/manifests/embedded.csv) after checking."""
    assert data_cli(["check", "embedded", f"dataset.root={tmp_path / 'e'}"]) == 0, capsys.readouterr().out
