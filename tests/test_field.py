"""The field benchmark (issue 15): the edited data set, the figures, and the runner on a small set."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dupbench.finder.recommend import shipped
from dupbench.methods import Method
from experiments.data.edits import EDITS, HARD_EDITS, build, ensure_built
from experiments.data.embedded import ensure_embedded
from experiments.data.loader import read_manifest
from experiments.evaluation.field_metrics import called_pairs, micro_ap, ranking, recall_at_precision, splits
from experiments.paths import REPO_ROOT
from tests.conftest import run_in_process

EMBEDDED = REPO_ROOT / "data" / "embedded"


def tiny_edits(tmp: Path) -> list[str]:
    """The field on an edits set built from the embedded set's 8 groups (8 originals x 12 edits + 32 photos)."""
    ensure_embedded(EMBEDDED)
    return [
        "experiment=field",
        "dataset=ukbench800-edits",
        "dataset.name=tiny-edits",
        f"dataset.root={tmp}/tiny-edits",
        f"dataset.source.root={EMBEDDED}",
        "dataset.source.manifest=data/manifests/embedded.csv",
        "experiment.peers=false",
        f"feature_cache={tmp}/cache",
    ]


def test_the_edits_set_has_every_edit_of_every_original_and_rebuilds_to_the_same_bytes(tmp_path):
    ensure_embedded(EMBEDDED)
    source = read_manifest(REPO_ROOT / "data/manifests/embedded.csv", EMBEDDED)
    build(tmp_path / "a", source, seed=0, distractors=3)
    build(tmp_path / "b", source, seed=0, distractors=3)
    a = pd.read_csv(tmp_path / "a" / "MANIFEST.csv")
    b = pd.read_csv(tmp_path / "b" / "MANIFEST.csv")
    assert len(a) == len(source) + 8 * len(EDITS) + 3
    assert (a["sha256"] == b["sha256"]).all()  # seeded: the same bytes twice
    edited = a[~a["edit"].isin(["original", "view", "distractor"])]
    assert edited.groupby("group")["edit"].nunique().eq(len(EDITS)).all()
    assert (a["edit"] == "original").sum() == 8 and a[a["edit"] == "distractor"]["group"].nunique() == 3
    build(tmp_path / "c", source, seed=1, distractors=0)
    c = pd.read_csv(tmp_path / "c" / "MANIFEST.csv")
    crops = lambda m: set(m[m["edit"] == "crop25"]["sha256"])  # noqa: E731
    assert crops(a) != crops(c)  # another seed crops elsewhere


def test_the_hard_tier_has_every_hard_edit_and_its_exif_turn_is_undone_by_a_reader(tmp_path):
    from dupbench.images.read import read_rgb

    ensure_embedded(EMBEDDED)
    source = read_manifest(REPO_ROOT / "data/manifests/embedded.csv", EMBEDDED)
    build(tmp_path / "a", source, seed=0, edits="hard")
    build(tmp_path / "b", source, seed=0, edits="hard")
    a = pd.read_csv(tmp_path / "a" / "MANIFEST.csv")
    assert (a["sha256"] == pd.read_csv(tmp_path / "b" / "MANIFEST.csv")["sha256"]).all()  # seeded
    edited = a[~a["edit"].isin(["original", "view"])]
    assert len(edited) == 8 * len(HARD_EDITS) and edited.groupby("group")["edit"].nunique().eq(len(HARD_EDITS)).all()
    original = a[a["edit"] == "original"].iloc[0]
    stem = Path(original["path"]).with_suffix("")
    upright = np.asarray(read_rgb(tmp_path / "a" / original["path"]), dtype=float)
    turned = tmp_path / "a" / f"{stem}_exif_rot90.jpg"
    with Image.open(turned) as stored:
        assert stored.size == upright.shape[:2]  # the pixels are stored a quarter turn round...
    shown = np.asarray(read_rgb(turned), dtype=float)
    assert shown.shape == upright.shape and np.abs(shown - upright).mean() < 8  # ...and read back upright
    # The overlay belongs to the pasted photo's group; its backdrop is another group's photo.
    overlay = a[a["edit"] == "overlay"].iloc[0]
    pasted = overlay["path"][: -len("_overlay.jpg")]
    originals = a[a["edit"] == "original"]
    assert (
        overlay["group"]
        == originals[originals["path"].map(lambda p: str(Path(p).with_suffix(""))) == pasted]["group"].iloc[0]
    )
    with pytest.raises(ValueError, match="edits: 'harder'"):
        ensure_built(tmp_path / "c", source, edits="harder")


class Similarity(Method):
    direction, symmetric = "similarity", True


def test_micro_ap_pools_every_copy_against_every_original_worked_by_hand():
    # Images: original 0 (group 0), original 1 (group 1), copy 2 of group 0, copy 3 of group 1, a view 4.
    matrix = np.zeros((5, 5))
    matrix[2, [0, 1]] = [0.9, 0.95]  # copy 2 resembles the other group's original more
    matrix[3, [0, 1]] = [0.2, 0.8]
    codes = np.array([0, 1, 0, 1, 0])
    edits = np.array(["original", "original", "crop50", "rot90", "view"])
    # Pooled ranking: 0.95 (wrong), 0.9 (hit), 0.8 (hit), 0.2 (wrong): AP = (1/2 + 2/3) / 2.
    assert micro_ap(Similarity(), matrix, codes, edits) == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert np.isnan(micro_ap(Similarity(), matrix, codes, np.array(["original", "view"] * 2 + ["view"])))


def test_committed_edits_manifest_matches_the_generator_on_ukbench800():
    manifest = pd.read_csv(REPO_ROOT / "data/manifests/ukbench800-edits.csv")
    assert len(manifest) == 3200 and manifest["group"].nunique() == 200
    assert manifest["edit"].value_counts()["original"] == 200
    assert set(manifest["edit"]) - {"original", "view"} == set(EDITS)


class Distance(Method):
    direction, symmetric = "distance", True


def test_ns_score_map_and_top1_on_a_matrix_worked_by_hand():
    # Two groups of two: image 0's best other match is 2 (wrong group), then 1; image 1 finds 0 first.
    matrix = np.array(
        [[0, 2, 1, 5], [2, 0, 4, 4], [1, 4, 0, 3], [5, 4, 3, 0]],
        dtype=float,
    )
    codes = np.array([0, 0, 1, 1])
    per = ranking(Distance(), matrix, codes)
    assert per["ns"].tolist() == [2, 2, 2, 2]  # each has its one mate within its 3 best
    assert per["top1"].tolist() == [0, 1, 0, 1]
    assert per["ap"].tolist() == [0.5, 1.0, 0.5, 1.0]


def ranking_by_sorting(method, matrix, codes):
    """The ranking as it was: each row sorted (stable), the query itself left in its place."""
    n = len(codes)
    matrix = matrix.copy()
    np.fill_diagonal(matrix, method.worst_score())
    order = np.argsort(-method.goodness(matrix), axis=1, kind="stable")
    relevant = codes[order] == codes[:, None]
    relevant[order == np.arange(n)[:, None]] = False
    mates = np.bincount(codes)[codes] - 1
    hits = np.cumsum(relevant, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.where(relevant, hits / np.arange(1, n + 1), 0.0).sum(axis=1) / mates
    some = mates > 0
    return {
        "ns": np.where(some, 1 + relevant[:, :3].sum(axis=1), np.nan),
        "ap": np.where(some, ap, np.nan),
        "top1": np.where(some, relevant[:, 0], np.nan),
    }


@pytest.mark.parametrize("whole", [True, False])
def test_ranking_by_counting_mates_matches_sorting_every_row(whole):
    """Group-mates' ranks counted (better scores, then equal ones before: a stable order) give the
    N-S score, AP and top-1 that sorting each row gave, with ties (whole scores) and without."""
    rng = np.random.default_rng(4)
    codes = np.r_[np.repeat(np.arange(40), rng.integers(1, 6, 40)), np.arange(40, 140)]
    rng.shuffle(codes)
    n = len(codes)
    matrix = rng.random((n, n)) * 10 - 4 * (codes[:, None] == codes[None, :])
    matrix = np.round(matrix) if whole else matrix
    matrix = (matrix + matrix.T) / 2
    want = ranking_by_sorting(Distance(), matrix, codes)
    got = ranking(Distance(), matrix.copy(), codes)
    for key in ("ns", "ap", "top1"):
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-12, err_msg=key)
    assert np.isnan(got["ns"]).any() and 0 < np.nanmean(got["top1"]) < 1


def test_recall_at_precision_and_called_pairs():
    curve = {"precision": np.array([1.0, 1.0, 0.995, 0.9]), "recall": np.array([0.1, 0.4, 0.6, 1.0])}
    assert recall_at_precision(curve, 0.99) == 0.6
    assert recall_at_precision(curve, 0.999) == 0.4
    assert recall_at_precision({"precision": np.array([0.5]), "recall": np.array([1.0])}, 0.99) == 0.0
    scores, positive = np.array([1.0, 2.0, 3.0, 9.0]), np.array([True, True, False, True])
    found = called_pairs(Distance(), scores, positive, 3.0)
    assert (found["pairs_found"], found["precision"], found["recall"]) == (3, 2 / 3, 2 / 3)


def test_splits_halve_the_groups_and_alternate_the_distractors():
    codes = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7])  # 4 real groups, 4 single distractors
    calibrate, scored = splits(codes)
    assert set(codes[calibrate]) & set(codes[scored]) == set()
    assert set(codes[calibrate]) >= {0, 1} and set(codes[scored]) >= {2, 3}
    assert len(set(codes[calibrate]) & {4, 5, 6, 7}) == 2


@pytest.mark.slow  # every method and plot of the field, end to end
def test_field_on_a_small_edits_set_writes_every_table_row_and_plot(tmp_path):
    # Budgets far off: a shared machine's slow first batch must not turn a row into a skip (it once did).
    budgets = ("experiment.max_encode_s_per_image=100", "experiment.budget_s=100000")
    code, err = run_in_process(
        tmp_path, *tiny_edits(tmp_path), "method.names=[ahash,phash,cosine,sscd_distilled]", *budgets
    )
    assert code == 0, err
    out = tmp_path / "field" / "tiny-edits"
    table = pd.read_csv(out / "field.csv")
    assert set(table["method"]) == {"ahash", "phash", "cosine", "sscd_distilled"}
    assert (table["status"] == "ok").all()
    rules = table.groupby("method")["rule"].apply(set)
    ships = shipped()["methods"]

    def finder(name: str) -> set[str]:  # the rule `dupbench find` ships for the method, where it ships one
        return {"shipped"} if ships.get(name, {}).get("threshold") is not None else set()

    assert rules["phash"] == {"default", "best_f1", "p99", "groups_p99"} | finder("phash")
    assert rules["cosine"] == {"best_f1", "p99", "groups_p99"} | finder("cosine")
    # The finder's rule: its groups (chains merged) kept 99 % precision on the calibration half, so its
    # threshold is never looser than the single-pair one.
    groups = table[table["rule"] == "groups_p99"].set_index("method")
    pairs = table[table["rule"] == "p99"].set_index("method")
    assert groups.at["sscd_distilled", "threshold"] >= pairs.at["sscd_distilled", "threshold"] - 1e-9
    assert groups.at["sscd_distilled", "counted"] == "pairs inside groups"
    assert table["ns_score"].between(1, 4).all() and table["pair_ap"].between(0, 1).all()
    assert (table["n_images"] == 32 + 8 * len(EDITS)).all()
    assert table["peak_rss_mib"].gt(0).all() and table["images_per_s"].gt(0).all()
    # SSCD beats the pixels on photos and their edits (a check that could fail, not a fixed number).
    best = table.drop_duplicates("method").set_index("method")
    assert best.at["sscd_distilled", "pair_ap"] > best.at["cosine", "pair_ap"]
    edits = pd.read_csv(out / "edits.csv")
    assert set(edits["edit"]) == set(EDITS) | {"view"}
    assert edits.groupby("method")["edit"].nunique().eq(len(EDITS) + 1).all()
    assert edits["recall_p99"].between(0, 1).all()
    hflip = edits.set_index(["method", "edit"])
    assert hflip.at[("sscd_distilled", "jpeg30"), "recall_best_f1"] >= hflip.at[("ahash", "rotate25"), "recall_best_f1"]
    for plot in ("field.png", "pr.png", "edits.png"):
        assert (out / plot).stat().st_size > 1000
    # A second run keeps every row (same code, files and decode) and the network's features are cached.
    code, err = run_in_process(tmp_path, *tiny_edits(tmp_path), "method.names=[sscd_distilled]", "force=true", *budgets)
    assert code == 0, err
    again = pd.read_csv(out / "field.csv")
    assert again[again["method"] == "sscd_distilled"]["cache_hits"].eq(128).all()


def test_a_method_over_the_time_budget_is_a_skipped_row_with_its_estimate(tmp_path):
    code, err = run_in_process(
        tmp_path, *tiny_edits(tmp_path), "method.names=[ahash]", "experiment.max_encode_s_per_image=1e-9"
    )
    assert code == 0, err
    table = pd.read_csv(tmp_path / "field" / "tiny-edits" / "field.csv")
    status = table["status"].iloc[0]
    assert status.startswith("skipped: encoding every file would take ~") and "max_encode_s_per_image=1e-09" in status
    assert table["rule"].iloc[0] == "none"


def test_a_corrupt_file_is_a_recorded_skip_not_a_failed_field_run(tmp_path):
    ensure_embedded(EMBEDDED)
    folder = tmp_path / "photos"
    for group in ("a", "b"):
        (folder / group).mkdir(parents=True)
        for i, source in enumerate(sorted((EMBEDDED / "astronaut" if group == "a" else EMBEDDED / "coffee").iterdir())):
            (folder / group / f"{i}{source.suffix}").write_bytes(source.read_bytes())
    (folder / "b" / "9.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    code, err = run_in_process(
        tmp_path,
        "experiment=field",
        "dataset=embedded",
        "dataset.kind=folders",
        "dataset.name=mine",
        f"dataset.root={folder}",
        "dataset.manifest=null",
        "method.names=[ahash]",
        "experiment.peers=false",
    )
    assert code == 0, err
    skipped = pd.read_csv(tmp_path / "field" / "mine" / "skipped.csv")
    assert skipped["path"].tolist() == ["b/9.jpg"]
    assert pd.read_csv(tmp_path / "field" / "mine" / "field.csv")["n_images"].iloc[0] == 8


def test_a_peer_is_scored_from_its_groups_and_one_without_an_environment_is_a_skipped_row(tmp_path, monkeypatch):
    from experiments.peers import catalog

    monkeypatch.setattr(catalog, "PEERS_ROOT", tmp_path / "peers")
    script = tmp_path / "fake_tool.py"
    # Calls every pair of each folder's first two images a duplicate: exactly one true pair per group.
    script.write_text(
        "import json, pathlib, sys\n"
        "root = pathlib.Path(sys.argv[1])\n"
        "folders = [d for d in sorted(root.iterdir()) if d.is_dir()]\n"
        "groups = [sorted(str(p.relative_to(root)) for p in sorted(d.iterdir()))[:2] for d in folders]\n"
        "print(json.dumps({'version': '9.9', 'groups': groups}))\n"
    )
    ready = catalog.Environment("fake", "3.11", ("fake==9.9",))
    (ready.folder).mkdir(parents=True)
    ready.ready.write_text("ok")
    missing = catalog.Environment("absent", "3.11", ("absent==1",))
    peers = (
        catalog.Peer("fake tool", ready, (sys.executable, str(script), "{folder}"), "first two"),
        catalog.Peer("absent tool", missing, ("{python}", "{folder}"), "never"),
    )
    monkeypatch.setattr(catalog, "PEERS", peers)
    # A rule of dupbench find is run as a peer is, and its row says it is the finder's.
    monkeypatch.setattr(catalog, "FINDERS", (catalog.Peer("fake finder", ready, peers[0].argv, "first two"),))
    args = [a for a in tiny_edits(tmp_path) if a != "experiment.peers=false"]
    code, err = run_in_process(
        tmp_path, *args, "dataset.source.manifest=data/manifests/embedded.csv", "method.names=[ahash]"
    )
    assert code == 0, err
    table = pd.read_csv(tmp_path / "field" / "tiny-edits" / "field.csv").set_index("method")
    assert table.at["absent tool", "status"].startswith("skipped: environment not built")
    assert table.at["fake tool", "kind"] == "peer" and table.at["fake finder", "kind"] == "finder"
    assert table.at["fake finder", "pairs_found_all"] == table.at["fake tool", "pairs_found_all"]
    fake = table.loc["fake tool"]
    assert fake["status"] == "ok" and fake["version"] == 9.9
    assert fake["pairs_found_all"] == 8 and fake["precision_all"] == 1.0
    assert fake["recall_all"] == pytest.approx(8 / (8 * 16 * 15 / 2))
    assert json.loads(json.dumps(float(fake["peak_rss_mib"]))) > 0


@pytest.mark.slow  # the field and dupbench find, each on the same folder
def test_the_fields_finder_rows_are_what_dupbench_find_groups_on_the_same_folder(tmp_path):
    """One code path: the field's finder rows (`groups_p99`, fitted on the calibration half, and
    `shipped`, the rule `dupbench find` ships) count the pairs inside the groups that `dupbench find`
    forms on the same folder with the same rule."""
    from dupbench.finder.cli import main as dupbench

    code, err = run_in_process(tmp_path, *tiny_edits(tmp_path), "method.names=[sscd_distilled]")
    assert code == 0, err
    rows = pd.read_csv(tmp_path / "field" / "tiny-edits" / "field.csv").set_index("rule")
    entry = shipped()["methods"]["sscd_distilled"]
    rules = {"groups_p99": (rows.at["groups_p99", "threshold"], "components", "none")}
    if "shipped" in rows.index:
        rules["shipped"] = (entry["threshold"], entry["grouping"], entry["normalise"])
    assert "shipped" in rules
    for rule, (threshold, grouping, normalise) in rules.items():
        out = tmp_path / f"{rule}.json"
        argv = ["find", str(tmp_path / "tiny-edits"), "--method", "sscd_distilled", "--quiet", "--json", str(out)]
        argv += ["--threshold", repr(float(threshold)), "--grouping", grouping, "--normalise", normalise]
        argv += ["--cache", str(tmp_path / "find-cache.sqlite")]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert dupbench(argv) in (0, 1)
        groups = json.loads(out.read_text())["groups"]
        pairs = sum(len(g["members"]) * (len(g["members"]) - 1) // 2 for g in groups)
        assert rows.at[rule, "pairs_found_all"] == pairs, rule
    assert rows.at["groups_p99", "pairs_found_all"] > 0


def test_committed_hard_manifest_has_eleven_edits_of_each_original():
    manifest = pd.read_csv(REPO_ROOT / "data/manifests/ukbench800-hard.csv")
    assert len(manifest) == 800 + 200 * len(HARD_EDITS) and manifest["group"].nunique() == 200
    assert set(manifest["edit"]) - {"original", "view"} == set(HARD_EDITS)
