"""`dupbench find` (issue 16) on small folders: groups, exact copies, cache, query, moves and undo,
outputs, bad input. In-process through dupbench.finder.cli.main; the browser test is slow."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from dupbench.finder.cli import main
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT
from tests.staged import data_root
from tests.test_trust import as_nobody

EMBEDDED = REPO_ROOT / "data" / "embedded"
PHASH = ["--method", "phash", "--threshold", "12", "--quiet"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def photos(tmp_path) -> Path:
    """Two embedded groups (astronaut at the top, coffee in a sub-folder), a byte copy, a re-encoded
    copy with the same pixels, a single unrelated photo, and a file that is not an image."""
    ensure_embedded(EMBEDDED)
    root = tmp_path / "photos"
    (root / "trip").mkdir(parents=True)
    for source in sorted((EMBEDDED / "astronaut").iterdir()):
        shutil.copy(source, root / source.name)
    for source in sorted((EMBEDDED / "coffee").iterdir()):
        shutil.copy(source, root / "trip" / source.name)
    shutil.copy(EMBEDDED / "astronaut" / "0_original.png", root / "trip" / "byte-copy.png")
    Image.open(EMBEDDED / "coffee" / "0_original.png").save(root / "same-pixels.png", compress_level=1)
    shutil.copy(EMBEDDED / "rocket" / "0_original.png", root / "rocket.png")
    (root / "notes.jpg").write_text("not a photo")
    return root


def found_json(tmp_path: Path, *argv: str) -> tuple[int, dict]:
    target = tmp_path / f"out-{len(list(tmp_path.glob('out-*.json')))}.json"
    code, _, err = run("find", *argv, "--json", str(target))
    assert code in (0, 1), err
    return code, json.loads(target.read_text())


def test_groups_exact_copies_best_copy_and_skips(photos, tmp_path):
    code, answer = found_json(tmp_path, str(photos), *PHASH)
    assert code == 1
    groups = {frozenset(Path(m["path"]).name for m in g["members"]): g for g in answer["groups"]}
    astronaut = frozenset({"0_original.png", "1_rotate.png", "2_crop.png", "3_tone.jpg", "byte-copy.png"})
    assert astronaut in groups
    group = groups[astronaut]
    members = {Path(m["path"]).name: m for m in group["members"]}
    assert (
        members["byte-copy.png"]["identical_pixels_in_group"] and members["0_original.png"]["identical_pixels_in_group"]
    )
    assert not members["2_crop.png"]["identical_pixels_in_group"]
    # Best copy: most pixels, then the largest file; the two identical PNGs tie on pixels.
    best = Path(group["best"]).name
    assert best in {"0_original.png", "byte-copy.png", "1_rotate.png", "3_tone.jpg"}
    sizes = {name: (m["width"] * m["height"], m["bytes"]) for name, m in members.items()}
    assert sizes[best] == max(sizes.values())
    exact = [p for p in answer["pairs"] if p["kind"] == "exact"]
    names = {frozenset((Path(p["a"]).name, Path(p["b"]).name)) for p in exact}
    assert frozenset({"0_original.png", "byte-copy.png"}) in names  # same bytes
    assert frozenset({"0_original.png", "same-pixels.png"}) in names  # other bytes, same pixels
    assert all("rocket.png" not in {Path(m["path"]).name for m in g["members"]} for g in answer["groups"])
    assert [Path(s["path"]).name for s in answer["skipped"]] == ["notes.jpg"]


def test_identical_pixels_are_decoded_once_then_read_from_the_cache(photos, tmp_path, monkeypatch):
    import dupbench.finder.find as finder

    cache = tmp_path / "cache.sqlite"
    decoded = []
    real = finder.pixel_digest
    monkeypatch.setattr(finder, "pixel_digest", lambda path: decoded.append(path.name) or real(path))
    _, first = found_json(tmp_path, str(photos), *PHASH, "--cache", str(cache))
    assert "same-pixels.png" in decoded  # scores perfectly against 0_original.png: its pixels were compared
    decoded.clear()
    _, again = found_json(tmp_path, str(photos), *PHASH, "--cache", str(cache))
    assert decoded == [] and again["pairs"] == first["pairs"]


def test_no_duplicates_exits_0_and_a_missing_folder_is_one_line_and_exit_2(tmp_path):
    ensure_embedded(EMBEDDED)
    lone = tmp_path / "lone"
    lone.mkdir()
    for name in ("rocket", "coins"):
        shutil.copy(EMBEDDED / name / "0_original.png", lone / f"{name}.png")
    code, out, _ = run("find", str(lone), *PHASH)
    assert code == 0 and out.startswith("2 images: 0 duplicate groups")
    code, out, err = run("find", str(tmp_path / "nowhere"), *PHASH)
    assert code == 2 and err.strip() == f"error: {tmp_path / 'nowhere'}: no such folder"
    code, _, err = run("find", str(lone), "--method", "no_such_method", "--threshold", "3")
    assert code == 2 and err.startswith("error: unknown method") and len(err.strip().splitlines()) == 1


def test_a_second_run_encodes_nothing_and_a_grown_folder_only_the_new_files(photos, tmp_path):
    _, first = found_json(tmp_path, str(photos), "--method", "sscd_distilled", "--threshold", "0.6", "--quiet")
    distinct = first["images"] - 1  # the byte copy is one content: encoded once
    assert (first["encoded"], first["from_cache"]) == (distinct, 0)
    _, second = found_json(tmp_path, str(photos), "--method", "sscd_distilled", "--threshold", "0.6", "--quiet")
    assert (second["encoded"], second["from_cache"]) == (0, distinct)
    assert second["groups"] == first["groups"]
    shutil.copy(EMBEDDED / "chelsea" / "0_original.png", photos / "cat.png")
    _, third = found_json(tmp_path, str(photos), "--method", "sscd_distilled", "--threshold", "0.6", "--quiet")
    assert (third["encoded"], third["from_cache"]) == (1, distinct)
    # The cache lives in the user's cache folder, never in the folder scanned.
    assert not list(photos.rglob("*.sqlite*"))
    assert list((Path(os.environ["XDG_CACHE_HOME"]) / "dupbench" / "finder").glob("*.sqlite"))


def test_query_answers_the_nearest_images_with_scores(photos, tmp_path):
    query = tmp_path / "query.jpg"
    Image.open(EMBEDDED / "coffee" / "0_original.png").convert("RGB").save(query, quality=60)
    _, answer = found_json(tmp_path, str(photos), *PHASH, "--query", str(query), "--top", "3")
    (item,) = answer["queries"]
    matches = item["matches"]
    assert len(matches) == 3 and matches[0]["duplicate"]
    assert Path(matches[0]["path"]).name in {"0_original.png", "same-pixels.png", "3_tone.jpg"}
    assert "trip" in matches[0]["path"] or matches[0]["path"].endswith("same-pixels.png")
    assert matches[0]["score"] <= matches[-1]["score"]  # a distance: best first


def test_dry_run_moves_nothing_move_keeps_the_best_and_undo_puts_everything_back(photos, tmp_path):
    before = sorted(p.relative_to(photos) for p in photos.rglob("*") if p.is_file() and not p.name.startswith("."))
    target = tmp_path / "dups"
    code, out, _ = run("find", str(photos), *PHASH, "--move-to", str(target), "--dry-run")
    assert code == 1 and "would move" in out and not target.exists()
    code, out, _ = run("find", str(photos), *PHASH, "--move-to", str(target))
    assert code == 1
    manifest = Path(re.search(r"dupbench undo (\S+)", out).group(1))
    moves = json.loads(manifest.read_text())["moves"]
    assert moves and all(m["done"] for m in moves)
    for m in moves:
        assert not Path(m["from"]).exists() and Path(m["to"]).is_file() and Path(m["kept"]).is_file()
        assert Path(m["to"]).is_relative_to(target / "photos")  # the path under the scanned folder is kept
    assert any(Path(m["to"]).parent.name == "trip" for m in moves)
    # The moved files are out of the folder: a new scan finds fewer groups.
    code, answer = found_json(tmp_path, str(photos), *PHASH)
    assert sum(len(g["members"]) for g in answer["groups"]) < sum(1 for m in moves) + 2
    code, out, err = run("undo", str(manifest))
    assert code == 0 and out.strip() == f"restored {len(moves)} files", err
    after = sorted(p.relative_to(photos) for p in photos.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert after == before


def test_csv_and_html_hold_the_same_groups_as_the_json(photos, tmp_path):
    code, _, _ = run(
        "find", str(photos), *PHASH, "--json", str(tmp_path / "a.json"), "--csv", str(tmp_path / "csv"),
        "--html", str(tmp_path / "html"),
    )  # fmt: skip
    answer = json.loads((tmp_path / "a.json").read_text())
    groups = pd.read_csv(tmp_path / "csv" / "groups.csv")
    assert len(groups) == sum(len(g["members"]) for g in answer["groups"])
    assert groups.groupby("group")["best"].sum().eq(1).all()
    assert len(pd.read_csv(tmp_path / "csv" / "pairs.csv")) == len(answer["pairs"])
    page = (tmp_path / "html" / "index.html").read_text()
    assert "http://" not in page and "https://" not in page  # self-contained: opens from disk
    assert page.count("data-group=") == len(answer["groups"])
    assert page.count("src='data:image/jpeg;base64,") == len(groups)


def chromium() -> str | None:
    """Debian's chromium, installed when absent (the test set-up); None when it cannot be."""
    found = shutil.which("chromium")
    if found:
        return found
    try:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"], capture_output=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("chromium")


@pytest.mark.slow
def test_the_html_report_renders_in_headless_chromium_with_the_json_groups(photos, tmp_path):
    browser = chromium()
    if browser is None:
        if os.environ.get("CI") == "true":  # `make browser` installs it there: a skip would hide the test
            pytest.fail("chromium is not installed: `make browser` installs it")
        pytest.skip("chromium is not installed and `apt-get install chromium chromium-driver` failed here")
    code, _, _ = run("find", str(photos), *PHASH, "--json", str(tmp_path / "a.json"), "--html", str(tmp_path / "html"))
    answer = json.loads((tmp_path / "a.json").read_text())
    page = (tmp_path / "html" / "index.html").resolve()
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000, done.stderr[-500:]
    with Image.open(shot) as image:
        assert image.size == (1200, 1600) and len(set(image.convert("L").getdata())) > 50  # drawn, not blank
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    sections = re.findall(r"<section class=\"group\" data-group=\"(\d+)\".*?</section>", dom.stdout, flags=re.S)
    assert len(sections) == len(answer["groups"])
    rendered = [
        sorted(re.findall(r"data-path=\"([^\"]+)\"", block))
        for block in re.findall(r"<section class=\"group\".*?</section>", dom.stdout, flags=re.S)
    ]
    assert rendered == [sorted(m["path"] for m in g["members"]) for g in answer["groups"]]


def test_ctrl_c_while_encoding_keeps_the_batches_already_encoded(photos, tmp_path, monkeypatch):
    import dupbench.engine.encode as find_module  # the engine `dupbench find` encodes through
    import dupbench.engine.prepare as decode_module

    real = find_module.prepared_batches

    def interrupted(*args, **kwargs):
        for number, item in enumerate(real(*args, **kwargs)):
            if number == 1:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(find_module, "prepared_batches", interrupted)
    many = tmp_path / "many"
    ensure_embedded(EMBEDDED)
    for folder in sorted(p for p in EMBEDDED.iterdir() if p.is_dir()):
        for source in sorted(folder.iterdir()):
            many.mkdir(exist_ok=True)
            shutil.copy(source, many / f"{folder.name}-{source.name}")
    args = ["find", str(many), "--method", "sscd_distilled", "--threshold", "0.6", "--quiet"]
    monkeypatch.setattr(decode_module, "BATCH", 8)
    code, _, err = run(*args)
    assert code == 130 and "kept in the cache" in err
    monkeypatch.setattr(find_module, "prepared_batches", real)
    _, answer = found_json(tmp_path, *args[1:])
    assert answer["from_cache"] == 8 and answer["encoded"] == answer["images"] - 8  # the first batch was kept


@pytest.mark.slow
def test_ukbench800_at_the_shipped_threshold_groups_with_precision_at_least_099(tmp_path):
    """The issue's acceptance: --views, the default method at its calibrated threshold (the default before issue
    39's two stages, which find copies and no other views), scored against the manifest's groups as pairs (every
    pair inside a found group is a call)."""
    folder = data_root() / "ukbench800"  # DUPBENCH_DATA, as the code reads it
    if not folder.is_dir():
        pytest.skip(f"{folder} is not staged")
    manifest = pd.read_csv(REPO_ROOT / "data" / "manifests" / "ukbench800.csv")
    group_of = dict(zip(manifest["path"], manifest["group"]))
    code, answer = found_json(tmp_path, str(folder), "--views", "--cache", str(tmp_path / "cache.sqlite"), "--quiet")
    assert code == 1
    called = {
        frozenset((Path(a["path"]).name, Path(b["path"]).name))
        for g in answer["groups"]
        for a in g["members"]
        for b in g["members"]
        if a["path"] < b["path"]
    }
    hits = sum(group_of[a] == group_of[b] for a, b in map(tuple, called))
    truth = 200 * 6
    precision, recall = hits / len(called), hits / truth
    print(f"ukbench800: {answer['method']} at {answer['threshold']:.4g}: {len(called)} pairs, "
          f"precision {precision:.4f}, recall {recall:.4f}")  # fmt: skip
    assert precision >= 0.99 and recall > 0.5


def test_progress_bars_name_each_stage(photos, capsys):
    from dupbench.finder.find import find
    from dupbench.finder.recommend import choose

    find([photos], choose("phash", "12"), progress=True)
    err = capsys.readouterr().err
    assert all(f"{stage}:" in err for stage in ("scan", "read", "encode", "search")), err[-300:]


def test_a_read_only_folder_works_and_nothing_is_written_into_it(photos, tmp_path):
    before = sorted(p.relative_to(photos) for p in photos.rglob("*"))
    for path in [photos, *photos.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        code, answer = found_json(tmp_path, str(photos), *PHASH)
        assert code == 1 and answer["groups"]
        code, _, err = run("find", str(photos), *PHASH, "--move-to", str(tmp_path / "dups"), "--dry-run")
        assert code == 1, err
    finally:
        for path in [photos, *photos.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert sorted(p.relative_to(photos) for p in photos.rglob("*")) == before


def test_content_changed_behind_a_restored_mtime_is_hashed_again(tmp_path):
    """`touch -r` puts size and mtime back; ctime and inode it cannot: the cached sha256 is not reused."""
    ensure_embedded(EMBEDDED)
    folder = tmp_path / "f"
    folder.mkdir()
    shutil.copy(EMBEDDED / "rocket" / "0_original.png", folder / "a.png")
    shutil.copy(EMBEDDED / "coins" / "0_original.png", folder / "b.png")
    cache = ["--cache", str(tmp_path / "c.sqlite")]
    _, first = found_json(tmp_path, str(folder), *PHASH, *cache)
    assert not first["groups"]
    stat = (folder / "b.png").stat()
    rocket = (folder / "a.png").read_bytes()
    with open(folder / "b.png", "r+b") as f:  # same size: rocket's bytes, padded or cut to b's length
        f.write((rocket + b"\0" * stat.st_size)[: stat.st_size])
    os.utime(folder / "b.png", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (folder / "b.png").stat().st_mtime_ns == stat.st_mtime_ns
    code, _, err = run("find", str(folder), *PHASH, *cache, "--json", str(tmp_path / "second.json"))
    second = json.loads((tmp_path / "second.json").read_text())
    # b.png is now rocket's bytes + padding (rocket's PNG is the shorter: asserted, so one branch is tested):
    # hashed again, so it is the rocket's duplicate, no longer taken for the coins photo.
    assert len(rocket) < stat.st_size and second["encoded"] == 1, (code, err)
    assert [sorted(Path(m["path"]).name for m in g["members"]) for g in second["groups"]] == [["a.png", "b.png"]]


def test_a_version_4_cache_keeps_its_features(photos, tmp_path):
    """Version 5 numbers the identities; a version 4 file is converted in place, not rebuilt."""
    import sqlite3

    cache = ["--cache", str(tmp_path / "old.sqlite")]
    _, first = found_json(tmp_path, str(photos), *PHASH, *cache, "--quiet")
    with sqlite3.connect(tmp_path / "old.sqlite") as db:  # back to version 4: each row names its identity
        db.executescript(
            """CREATE TABLE named (sha256 TEXT, identity TEXT, data BLOB, PRIMARY KEY (sha256, identity));
            INSERT INTO named SELECT f.sha256, i.identity, f.data
            FROM features f JOIN identities i ON i.id = f.identity;
            DROP TABLE features; DROP TABLE identities; ALTER TABLE named RENAME TO features;
            PRAGMA user_version = 4;"""
        )
    code, _, err = run("find", str(photos), *PHASH, *cache, "--json", str(tmp_path / "second.json"))
    second = json.loads((tmp_path / "second.json").read_text())
    assert "rebuilt" not in err and (second["encoded"], second["from_cache"]) == (0, first["encoded"])
    assert second["groups"] == first["groups"]
    with sqlite3.connect(tmp_path / "old.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 5


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--workers", "-1"], "--workers"),
        (["--top", "0"], "--top"),
        (["--threshold", "nan"], "finite"),
        (["--threshold", "inf"], "finite"),
        (["--threshold", "-5"], "stricter than a perfect score"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(photos, argv, says, capsys):
    base = ["find", str(photos), "--method", "phash", "--quiet"]
    if "--threshold" not in argv:
        base += ["--threshold", "10"]
    try:
        code = main([*base, *argv])
    except SystemExit as stop:  # argparse's own refusal: exit 2, one usage line and one error line
        code = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and says in err[-1] and len(err) <= 2, err


def test_an_empty_folder_says_no_images_and_exits_0(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, _ = run("find", str(empty), *PHASH)
    assert code == 0 and out.startswith("no images in")


def test_a_missing_or_wrong_query_is_named(photos, tmp_path):
    for query, says in ((tmp_path / "nowhere.jpg", "no such file"), (photos, "a folder, not an image")):
        code, _, err = run("find", str(photos), *PHASH, "--query", str(query))
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1


def test_csv_cells_that_would_be_formulas_are_neutralised_and_control_characters_escaped(tmp_path):
    ensure_embedded(EMBEDDED)
    folder = tmp_path / "f"
    folder.mkdir()
    shutil.copy(EMBEDDED / "rocket" / "0_original.png", folder / "=HYPERLINK(x).png")
    shutil.copy(EMBEDDED / "rocket" / "0_original.png", folder / "bell\x07.png")
    code, out, _ = run("find", str(folder), *PHASH, "--csv", str(tmp_path / "csv"))
    assert code == 1 and "\x07" not in out and "bell\\x07.png" in out
    rows = (tmp_path / "csv" / "groups.csv").read_text()
    assert "'" + str(folder / "=HYPERLINK(x).png") not in rows  # the path starts with / : not a formula
    assert ",=" not in rows


def sha256_multiset(folder: Path) -> collections.Counter:
    return collections.Counter(hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_moves_survive_kill_9_at_20_random_moments_and_undo_puts_every_file_back(tmp_path):
    """A move of 316 files killed (SIGKILL) at random moments: after `dupbench undo`, the folder holds
    exactly the files it held (same sha256 multiset); undo twice is harmless and quiet."""
    ensure_embedded(EMBEDDED)
    folder = tmp_path / "photos"
    sources = sorted((EMBEDDED / name / "0_original.png") for name in ("rocket", "coins", "coffee", "astronaut"))
    for k in range(80):
        sub = folder / f"day{k % 8}"
        sub.mkdir(parents=True, exist_ok=True)
        for source in sources:
            shutil.copy(source, sub / f"{source.parent.name}-{k}.png")
    before = sha256_multiset(folder)
    binary = Path(sys.executable).parent / "dupbench"
    command = [str(binary), "find", str(folder), "--method", "phash", "--threshold", "0", "--quiet"]
    command += ["--cache", str(tmp_path / "cache.sqlite")]
    start = time.perf_counter()
    subprocess.run([*command, "--move-to", str(tmp_path / "full")], check=False, capture_output=True)
    whole = time.perf_counter() - start
    (manifest,) = (tmp_path / "full").glob("dupbench-moves-*.json")
    assert len(json.loads(manifest.read_text())["moves"]) == 316
    assert main(["undo", str(manifest)]) == 0 and sha256_multiset(folder) == before
    rng = random.Random(7)
    during = 0
    for trial in range(30):
        target = tmp_path / f"dups{trial}"
        process = subprocess.Popen(
            [*command, "--move-to", str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.35 * whole, whole))
        process.kill()
        process.wait()
        for manifest in target.glob("dupbench-moves-*.json"):
            moves = json.loads(manifest.read_text())["moves"]
            during += any(m["intended"] for m in moves) and not all(m["done"] for m in moves)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["undo", str(manifest)]) == 0
            with contextlib.redirect_stdout(io.StringIO()) as again:
                assert main(["undo", str(manifest)]) == 0
            assert again.getvalue() == ""
        assert sha256_multiset(folder) == before, trial
        assert not [p for p in target.rglob("*.png")], trial
    assert during >= 20, f"only {during} kills landed during the moves"


def test_moves_are_refused_before_any_move_into_a_scanned_folder_or_from_same_named_roots(photos, tmp_path):
    code, _, err = run("find", str(photos), *PHASH, "--move-to", str(photos / "dups"))
    assert code == 2 and "inside the scanned folder" in err
    twin = tmp_path / "other" / "photos"
    twin.mkdir(parents=True)
    shutil.copy(photos / "rocket.png", twin / "rocket.png")
    code, _, err = run("find", str(photos), str(twin), *PHASH, "--move-to", str(tmp_path / "dups"))
    assert code == 2 and "two scanned folders are named 'photos'" in err
    assert not (tmp_path / "dups").exists() and (photos / "0_original.png").is_file()


def test_two_moves_in_the_same_second_get_two_manifests(tmp_path):
    from dupbench.finder.moves import new_manifest

    names = {new_manifest(tmp_path) for _ in range(3)}
    assert len(names) == 3 and all(p.is_file() for p in names)


def test_the_first_folder_given_keeps_its_copy_and_the_answer_says_why(tmp_path):
    ensure_embedded(EMBEDDED)
    library, backup = tmp_path / "Photos", tmp_path / "Backup"
    library.mkdir()
    backup.mkdir()
    original = Image.open(EMBEDDED / "rocket" / "0_original.png").convert("RGB")
    original.resize((96, 96)).save(library / "rocket.png")  # the library's copy is the smaller one
    original.save(backup / "rocket.png")
    _, answer = found_json(tmp_path, str(library), str(backup), *PHASH)
    (group,) = answer["groups"]
    assert Path(group["best"]).parent == library and "first folder given" in group["kept_because"]
    _, answer = found_json(tmp_path, str(library), str(backup), *PHASH, "--keep", "most-pixels")
    (group,) = answer["groups"]
    assert Path(group["best"]).parent == backup and "most pixels" in group["kept_because"]


def test_links_to_scanned_files_are_reported_once_and_two_links_do_not_crash(photos, tmp_path):
    (photos / "link-a.png").symlink_to(photos / "rocket.png")
    (photos / "link-b.png").symlink_to(photos / "rocket.png")
    code, answer = found_json(tmp_path, str(photos), *PHASH)
    assert code == 1
    links = {Path(s["path"]).name: s["reason"] for s in answer["skipped"] if "symbolic link" in s["reason"]}
    assert set(links) == {"link-a.png", "link-b.png"}
    members = {Path(m["path"]).name for g in answer["groups"] for m in g["members"]}
    assert not members & {"link-a.png", "link-b.png"} and "rocket.png" not in members
    target = tmp_path / "dups"
    code, _, err = run("find", str(photos), *PHASH, "--move-to", str(target))
    assert code == 1, err
    assert (photos / "rocket.png").is_file() and (photos / "link-a.png").resolve() == photos / "rocket.png"


def test_a_file_changed_between_the_scan_and_its_move_is_not_moved(photos, tmp_path, monkeypatch):
    from dupbench.finder import moves as moves_module

    real = moves_module.plan

    def plan_then_change(found, target):
        planned = real(found, target)
        Path(planned[0]["from"]).write_bytes(b"changed after the scan")
        return planned

    monkeypatch.setattr(moves_module, "plan", plan_then_change)
    code, out, _ = run("find", str(photos), *PHASH, "--move-to", str(tmp_path / "dups"))
    manifest = json.loads(next((tmp_path / "dups").glob("dupbench-moves-*.json")).read_text())["moves"]
    first = manifest[0]
    assert first["skipped"].startswith("changed since the scan") and not first["done"]
    assert Path(first["from"]).read_bytes() == b"changed after the scan" and "not moved:" in out


def walk_into(folder: Path) -> None:
    """As an unprivileged user: scan a folder holding an image and a subfolder it may not read."""
    from dupbench.finder.find import walk

    shutil.copy(EMBEDDED / "rocket" / "0_original.png", folder / "r.png")
    (folder / "locked").mkdir()
    (folder / "locked").chmod(0)
    skipped: list = []
    files = walk(folder, skipped, set(), set())
    assert [f[0].name for f in files] == ["r.png"]
    (folder / "skipped.txt").write_text("\n".join(f"{p}: {why}" for p, why in skipped))


def test_outputs_of_the_wrong_kind_an_unreadable_subfolder_and_a_malformed_manifest(photos, tmp_path, open_dir):
    code, _, err = run("find", str(photos), *PHASH, "--json", str(tmp_path))
    assert code == 2 and "--json" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "file.txt").write_text("x")
    code, _, err = run("find", str(photos), *PHASH, "--html", str(tmp_path / "file.txt"))
    assert code == 2 and "--html" in err
    code, text = as_nobody(walk_into, open_dir)
    assert code == 0, text
    assert (open_dir / "skipped.txt").read_text().startswith(f"{open_dir / 'locked'}: cannot read folder")
    bad = tmp_path / "bad.json"
    bad.write_text('{"moves": [{"nope": 1}]}')
    code, _, err = run("undo", str(bad))
    assert code == 2 and "not a dupbench moves manifest" in err and len(err.strip().splitlines()) == 1


def test_a_file_name_that_is_not_utf8_is_handled_not_an_error(tmp_path):
    ensure_embedded(EMBEDDED)
    folder = tmp_path / "f"
    folder.mkdir()
    odd = os.fsdecode(b"caf\xe9-\xff.png")  # Latin-1 bytes: not UTF-8
    shutil.copy(EMBEDDED / "rocket" / "0_original.png", folder / odd)
    shutil.copy(EMBEDDED / "rocket" / "0_original.png", folder / "plain.png")
    out = tmp_path / "out"
    code, text, err = run("find", str(folder), *PHASH, "--json", str(tmp_path / "a.json"), "--csv", str(out))
    assert code == 1, err
    assert "\udce9" not in text and "caf\\udce9" in text  # escaped on the terminal
    assert json.loads((tmp_path / "a.json").read_text())["groups"]
    assert b"caf\xe9-\xff.png" in (out / "groups.csv").read_bytes()  # the name's own bytes


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "fork-server"])
def test_the_read_workers_start_during_the_scan_with_progress_bars_off(photos, tmp_path, monkeypatch, forked):
    """--quiet and --json turn the bars off: the scan must still start the read's workers once it has
    offered the number of new files that is read on processes (it never did with the bars off):
    forked from the process where that is safe, reading full batches while the scan goes on (the
    groups come back the same); else the fork server, started early. A second run, every file in the
    cache, starts none."""
    from dupbench.engine import reads as ingest

    started = []
    monkeypatch.setattr(ingest, "PROCESSES_FROM", 3)
    monkeypatch.setattr(ingest, "READ_BATCH", 2)
    monkeypatch.setattr(ingest, "fork_is_safe", lambda: forked)
    monkeypatch.setattr(ingest, "start_workers_early", lambda method: started.append(("server", method.name)))
    real = ingest.reading_pool

    def reading_pool(workers, processes, known, fork=False):
        if fork:
            started.append(("forked", processes))
        return real(workers, processes, known, fork)

    monkeypatch.setattr(ingest, "reading_pool", reading_pool)

    def run(workers: int, cache: str) -> list:
        out = tmp_path / f"{cache}.json"
        command = ["find", str(photos), *PHASH, "--cache", str(tmp_path / cache), "--json", str(out)]
        assert main([*command, "--workers", str(workers)]) == 1
        return json.loads(out.read_text())["groups"]

    alone = run(1, "one.sqlite")  # one worker: read after the scan, on this thread
    assert started == []
    assert run(2, "two.sqlite") == alone
    assert started == ([("forked", True)] if forked else [("server", "phash")])
    assert run(2, "two.sqlite") == alone  # every file known to the cache: nothing to read on processes
    assert len(started) == 1


def test_the_command_leaves_with_all_its_output_its_exit_code_and_its_atexit_handlers(photos, tmp_path):
    """`dupbench` (cli.command) ends with os._exit, skipping the interpreter's teardown: through a pipe
    (block-buffered) the JSON must still arrive whole, the summary too, the exit code be main()'s, and
    atexit handlers run; a reader that leaves early gets no traceback on stderr."""
    binary = Path(sys.executable).parent / "dupbench"
    command = [str(binary), "find", str(photos), *PHASH, "--cache", str(tmp_path / "c.sqlite"), "--json", "-"]
    # Output buffered, as people run it (these machines set PYTHONUNBUFFERED).
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(command, capture_output=True, text=True, env=buffered)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["groups"] and "duplicate groups" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert subprocess.run([str(binary), "find", str(empty), *PHASH], capture_output=True).returncode == 0
    script = (
        "import atexit, sys\nfrom dupbench.finder.cli import command\n"
        "atexit.register(lambda: print('atexit ran', file=sys.stderr))\ncommand()"
    )
    done = subprocess.run([sys.executable, "-c", script, "find", str(empty), *PHASH], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip().endswith("atexit ran")
    early = subprocess.run(
        f"{' '.join(map(shlex.quote, command))} | head -c 1", shell=True, capture_output=True, text=True, env=buffered
    )
    assert early.stdout == "{" and "Traceback" not in early.stderr


def test_a_run_without_bars_does_not_import_tqdm(photos, tmp_path):
    """--quiet (or no terminal): no bar is drawn, so tqdm (25 ms) is not imported before the scan."""
    code = (
        "import sys\nfrom dupbench.finder.cli import main\n"
        f"main(['find', {str(photos)!r}, '--method', 'phash', '--quiet', '--cache', {str(tmp_path / 'c.sqlite')!r}])\n"
        "print('tqdm' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"
