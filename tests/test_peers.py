"""Peers (issue 14, part 2): the scoring of a tool's groups, the launcher's time and peak memory with a
stand-in tool, and each real peer's adapter on a tiny folder where `make peers` built it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiments.data.loader import Dataset, Item
from experiments.evaluation.field_metrics import group_codes
from experiments.peers.catalog import ENVIRONMENTS, PEERS, Environment, Peer
from experiments.peers.run import index_pairs, peer_groups, run_tool, score_pairs, stage
from experiments.runners.peers import evaluate


def tiny_dataset(root: Path) -> Dataset:
    """Two groups: g0 holds an image and its exact copy plus a brighter version; g1 another image."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    other = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    files = {
        "g0/a.png": base,
        "g0/a_copy.png": base,
        "g0/a_bright.png": np.clip(base.astype(int) + 20, 0, 255),
        "g1/b.png": other,
    }
    items = []
    for key, pixels in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.astype(np.uint8)).save(root / key)
        items.append(Item(key=key, path=root / key, group=key.split("/")[0]))
    return Dataset("tiny", root, tuple(items), {"mode": "fixed", "width": 64, "height": 64})


def test_groups_become_pairs_scored_against_the_manifest(tmp_path):
    dataset = tiny_dataset(tmp_path / "data")
    keys = [item.key for item in dataset.items]
    codes = group_codes(dataset.groups)
    assert sorted(keys)[:3] == ["g0/a.png", "g0/a_bright.png", "g0/a_copy.png"]  # 3 true pairs among them
    answer = {
        "exact": [["g0/a.png", "g0/a_copy.png"]],
        "near": [[str(tmp_path / "x" / "g0/a.png"), str(tmp_path / "x" / "g1/b.png")]],
    }
    found = index_pairs(answer, tmp_path / "x", keys)
    scores = score_pairs(found, codes)
    assert scores["pairs_found"] == 2 and scores["precision"] == 0.5 and scores["recall"] == pytest.approx(1 / 3)
    assert np.isnan(score_pairs(set(), codes)["precision"])
    # As groups a person sees: the two that share g0/a.png are one group of three.
    assert sorted(map(sorted, peer_groups(answer, tmp_path / "x", keys))) == [
        sorted(keys.index(k) for k in ("g0/a.png", "g0/a_copy.png", "g1/b.png"))
    ]


STAND_IN = """
import json, sys
blob = bytearray(60 * 1024 * 1024)  # 60 MiB the launcher must see as this process's peak
print(json.dumps({"version": "0", "groups": [["g0/a.png", "g0/a_copy.png"]]}))
"""


def stand_in_peer(tmp_path: Path) -> tuple[Peer, Path]:
    env = Environment("stand-in", "3.11", ())
    folder = tmp_path / "venv"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").symlink_to(sys.executable)
    (folder / "READY").write_text("")
    script = tmp_path / "tool.py"
    script.write_text(STAND_IN)
    peer = Peer("stand-in", env, ("{python}", str(script), "{folder}"), "exact copies")
    return peer, folder


def test_a_stand_in_tool_is_timed_measured_and_scored(tmp_path, monkeypatch):
    dataset = tiny_dataset(tmp_path / "data")
    peer, venv = stand_in_peer(tmp_path)
    monkeypatch.setattr(Environment, "folder", property(lambda self: venv))
    staged = tmp_path / "staged"
    stage(dataset, staged)
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*.png")) == sorted(
        i.key for i in dataset.items
    )
    row = evaluate(peer, dataset, staged, timeout=120)
    assert row["status"] == "ok" and row["pairs_found"] == 1 and row["precision"] == 1.0
    assert 60 <= row["peak_rss_mib"] < 400  # its own 60 MiB, not dupbench's pages counted at fork
    assert row["wall_s"] > 0


def test_a_peer_not_built_is_a_skipped_row_with_the_reason(tmp_path, monkeypatch):
    peer = PEERS[0]
    monkeypatch.setattr(Environment, "folder", property(lambda self: tmp_path / "none"))
    assert evaluate(peer, tiny_dataset(tmp_path / "data"), tmp_path, timeout=10)["status"].startswith("skipped: ")


def test_a_failing_tool_raises_with_its_last_words():
    with pytest.raises(RuntimeError, match="exit 3: boom"):
        run_tool([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"], 30)


def test_fastdup_is_opt_in():
    assert [e.name for e in ENVIRONMENTS if e.opt_in] == ["fastdup"]
    assert not any(p.environment.opt_in for p in PEERS)


@pytest.mark.slow  # each a real tool in its own environment
@pytest.mark.parametrize("peer", PEERS, ids=[p.name for p in PEERS])
def test_each_peer_adapter_on_a_tiny_folder(peer, tmp_path):
    if not peer.environment.ready.is_file():
        pytest.skip(f"{peer.environment.name} not built here (make peers)")
    dataset = tiny_dataset(tmp_path / "data")
    staged = tmp_path / "staged"
    stage(dataset, staged)
    row = evaluate(peer, dataset, staged, timeout=600)
    assert row["status"] == "ok", row
    assert row["pairs_found"] >= 1 and row["precision"] >= 0.5  # every tool finds the exact copy
    json.dumps(row)  # a plain row
