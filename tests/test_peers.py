"""Peers (issue 14, part 2): the scoring of a tool's groups, the launcher's time and peak memory with a
stand-in tool, and each real peer's adapter on a tiny folder where `make peers` built it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from experiments.data.loader import Dataset, Item, read_manifest
from experiments.evaluation.field_metrics import group_codes
from experiments.peers.catalog import ENVIRONMENTS, FINDERS, PEERS, Environment, Peer
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
@pytest.mark.parametrize("peer", [*PEERS, *FINDERS], ids=[p.name for p in (*PEERS, *FINDERS)])
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


# --- one way to run and score a peer (issue 40) ------------------------------------------------------

SAME_BYTES_TOOL = """
import hashlib, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
same = {}
for path in sorted(p for p in root.rglob("*") if p.is_file()):
    same.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), []).append(str(path))
# Each file with its next byte copy, as a tool listing pairs: three copies are two pairs, one group merged.
print(json.dumps({"version": "9.9", "groups": [[a, b] for files in same.values() for a, b in zip(files, files[1:])]}))
"""


def copies_folder(root: Path) -> Dataset:
    """A flat folder with a manifest as experiments/data/copies.py writes one: two originals with two byte
    copies each (one per half), a photo with a JPEG copy the tool misses, a distinct image."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    rows = []
    for name, group, edit, half, like in [
        ("a0.png", "a", "original", "choose", None), ("a1.png", "a", "byte", "choose", "a0.png"),
        ("a2.png", "a", "png", "choose", "a0.png"), ("b0.png", "b", "original", "report", None),
        ("b1.jpg", "b", "jpeg70", "report", None), ("c0.png", "c", "original", "report", None),
        ("c1.png", "c", "byte", "report", "c0.png"), ("c2.png", "c", "png", "report", "c0.png"),
        ("d0.png", "d", "distinct", "choose", None),
    ]:  # fmt: skip
        if like:
            (root / name).write_bytes((root / like).read_bytes())
        else:
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(root / name)
        rows.append(f"{name},{group},{edit},photos {half}")
    (root / "MANIFEST.csv").write_text("path,group,edit,source\n" + "\n".join(rows) + "\n")
    items = read_manifest(root / "MANIFEST.csv", root)
    return Dataset(root.name, root, tuple(items), {"mode": "fixed", "width": 64, "height": 64})


@pytest.fixture
def one_way(tmp_path, monkeypatch) -> tuple[list[Peer], list[tuple[str, int, int | None, dict]]]:
    """A peer that runs (byte copies, as pairs) and one whose environment is not built; every call of
    evaluate_peer made by the four callers recorded as (peer, images, images among, its outcome). A
    caller that runs a peer another way makes no call here, or rows that are not the call's."""
    from experiments.peers import catalog, run
    from experiments.runners import field
    from experiments.runners import peers as peers_runner
    from experiments.tools import copies_bench, kinds

    monkeypatch.setattr(catalog, "PEERS_ROOT", tmp_path / "peers")
    script = tmp_path / "same_bytes.py"
    script.write_text(SAME_BYTES_TOOL)
    ready = Environment("fake", "3.11", ("fake==9.9",))
    ready.folder.mkdir(parents=True)
    ready.ready.write_text("ok")
    fakes = [
        Peer("fake tool", ready, (sys.executable, str(script), "{folder}"), "byte copies"),
        Peer("absent tool", Environment("absent", "3.11", ("absent==1",)), ("{python}", "{folder}"), "never"),
    ]
    for module in (catalog, peers_runner, kinds):
        monkeypatch.setattr(module, "PEERS", tuple(fakes))
    calls = []

    def spy(peer, dataset, timeout, among=None, folder=None):
        outcome = run.evaluate_peer(peer, dataset, timeout, among, folder)
        calls.append((peer.name, len(dataset.items), None if among is None else int(np.sum(among)), outcome))
        return outcome

    for module in (peers_runner, field, kinds, copies_bench):
        monkeypatch.setattr(module, "evaluate_peer", spy)
    return fakes, calls


def test_the_peers_runner_runs_and_scores_a_peer_the_one_way(one_way, tmp_path):
    from experiments.runners.peers import run

    fakes, calls = one_way
    dataset = copies_folder(tmp_path / "set")
    cfg = {"experiment": {"only": [p.name for p in fakes], "timeout_s": 60}}
    table = run(cfg, dataset, tmp_path / "out").set_index("peer")
    assert [(name, n, among) for name, n, among, _ in calls] == [("fake tool", 9, None), ("absent tool", 9, None)]
    outcome = calls[0][3]
    fake = table.loc["fake tool"]
    # The tool's own pairs on all 9 images: a0-a1, a1-a2, c0-c1, c1-c2 of 3 + 1 + 3 true pairs.
    assert (fake["pairs_found"], fake["true_pairs"], fake["recall"]) == (4, 7, pytest.approx(4 / 7))
    assert fake["wall_s"] == pytest.approx(outcome["wall_s"], rel=1e-12) and str(fake["version"]) == "9.9"
    assert table.at["absent tool", "status"].startswith("skipped: environment not built")


def test_the_field_runs_and_scores_a_peer_the_one_way(one_way, tmp_path):
    from experiments.runners.field import Field

    fakes, calls = one_way
    cfg = {"experiment": {"workers": 1, "resize": [64, 64], "timeout_s": 60}, "feature_cache": None}
    field = Field(cfg, copies_folder(tmp_path / "set"), tmp_path / "out")
    field.run_peers([p.name for p in fakes])
    # Every file staged (a tool sees the whole folder), its pairs scored on the scored half (b, c) too.
    assert [(name, n, among) for name, n, among, _ in calls] == [("fake tool", 9, 5), ("absent tool", 9, 5)]
    table = pd.read_csv(tmp_path / "out" / "field.csv").set_index("method")
    fake, outcome = table.loc["fake tool"], calls[0][3]
    assert (fake["pairs_found"], fake["true_pairs"], fake["recall"]) == (2, 4, 0.5)
    assert (fake["pairs_found_all"], fake["true_pairs_all"]) == (4, 7)
    assert fake["total_s"] == pytest.approx(outcome["wall_s"], rel=1e-12) and str(fake["version"]) == "9.9"
    assert table.at["absent tool", "status"].startswith("skipped: environment not built")


def test_the_kinds_benchmark_runs_and_scores_a_peer_the_one_way(one_way, tmp_path):
    from experiments.tools.kinds import Kinds

    fakes, calls = one_way
    dataset = copies_folder(tmp_path / "set")
    kinds = Kinds.__new__(Kinds)  # one tiny kind: the shared data sets are not needed to see the path
    kinds.sets, kinds.env = {"photos": {"main": dataset, "nodup": dataset}}, {"machine": "m", "git_commit": "c"}
    rows = {row["method"]: row for row in kinds.run_peers([p.name for p in fakes])}
    # Only the scored half staged, twice (the kind's set and its no-duplicate companion), per peer.
    assert [(name, n, among) for name, n, among, _ in calls] == [("fake tool", 5, None)] * 2 + [
        ("absent tool", 5, None)
    ] * 2
    fake = rows["fake tool"]
    # Its groups merged: c0, c1, c2 one group, 3 pairs of the half's 3 + 1 true ones.
    assert (fake["pairs_found"], fake["true_pairs"], fake["recall"]) == (3, 4, 0.75)
    assert fake["wall_s"] == calls[0][3]["wall_s"] + calls[1][3]["wall_s"] and fake["version"] == "9.9"
    assert rows["absent tool"]["status"].startswith("skipped: environment not built")


def test_a_rule_of_dupbench_find_is_run_as_a_peer_and_marked_so_in_the_kinds_table(one_way, tmp_path, monkeypatch):
    """Issue 39: the kinds table shows the two stages beside the peers, run and scored the one way a peer
    is, and drawn as dupbench's rule, not as a tool at its default."""
    from experiments.reporting.render import render_kinds
    from experiments.tools import kinds as kinds_module

    fakes, calls = one_way
    monkeypatch.setattr(kinds_module, "FINDERS", (fakes[0],))
    monkeypatch.setattr(kinds_module, "PEERS", ())
    kinds = kinds_module.Kinds.__new__(kinds_module.Kinds)
    sets = {"main": copies_folder(tmp_path / "set"), "nodup": copies_folder(tmp_path / "n")}
    kinds.sets, kinds.env = {"photos": sets}, {"machine": "m", "git_commit": "c"}
    rows = kinds.run_peers(None)
    assert [row["tool"] for row in rows] == ["finder"] and [c[0] for c in calls] == ["fake tool"] * 2
    table = pd.DataFrame(rows).assign(chosen=False)
    line = next(row for row in render_kinds(table, "kinds.csv").splitlines() if row.startswith("| fake tool"))
    assert "(tool)" not in line and "byte copies" in line


def test_copies_bench_runs_and_scores_a_peer_the_one_way(one_way, tmp_path):
    from experiments.tools.copies_bench import measure

    fakes, calls = one_way
    copies_folder(tmp_path / "person")
    rows = measure({"person": tmp_path / "person"}, [], fakes, timeout=60)
    assert [(name, n, among) for name, n, among, _ in calls] == [("fake tool", 9, None), ("absent tool", 9, None)]
    by = {(r["variant"], r.get("half"), r.get("measure")): r for r in rows}
    report = by[("fake tool", "report", "pairs")]
    assert (report["found_pairs"], report["true_pairs"], report["recall"]) == (3, 4, 0.75)
    assert by[("fake tool", "report", "byte")]["recall"] == 1.0 and by[("fake tool", "report", "jpeg70")]["recall"] == 0
    assert report["wall_s"] == round(calls[0][3]["wall_s"], 2) and report["version"] == "9.9"
    assert by[("absent tool", None, None)]["status"].startswith("skipped: environment not built")
