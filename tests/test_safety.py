"""Issue 38: no file lost through `--cache` or `dupbench undo`, links never moved through, a cache in use
never deleted. In-process through dupbench.finder.cli.main, but for the process that holds a lock."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dupbench import features
from tests import test_find
from tests.test_find import PHASH, found_json, run

photos = test_find.photos  # the same fixture: two embedded groups, byte and pixel copies, a non-image


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Point 1: `--cache PATH` over something that is not a cache.


@pytest.mark.parametrize("kind", ["text", "photo", "other-database", "folder-file"])
def test_a_cache_path_that_holds_anything_but_a_dupbench_cache_is_refused_untouched(photos, tmp_path, kind):
    if kind == "text":
        target = tmp_path / "thesis.txt"
        target.write_text("Chapter 1. " * 1000)
    elif kind == "photo":
        target = photos / "rocket.png"  # a photo inside the scanned folder
    elif kind == "other-database":
        target = tmp_path / "budget.sqlite"
        with sqlite3.connect(target) as db:
            db.execute("CREATE TABLE rows (n INTEGER)")
            db.executemany("INSERT INTO rows VALUES (?)", [(n,) for n in range(1000)])
    else:  # a file named like the benchmark's cache folder's one file, but not a cache
        target = tmp_path / "cachedir" / features.FILE_NAME
        target.parent.mkdir()
        target.write_bytes(b"\x00not sqlite\x00" * 50)
    before = digest(target)
    code, out, err = run("find", str(photos), *PHASH, "--cache", str(target))
    assert code == 2 and "left untouched" in err and out == "", err
    assert err.count("\n") == 1
    assert digest(target) == before
    assert not [p for p in target.parent.iterdir() if p.name.startswith(target.name + "-")]  # no -wal, -journal


def test_a_dupbench_cache_given_as_cache_is_used_and_an_old_one_unstamped_is_recognised(photos, tmp_path):
    cache = tmp_path / "mine.sqlite"
    _, first = found_json(tmp_path, str(photos), *PHASH, "--cache", str(cache))
    with contextlib.closing(sqlite3.connect(cache)) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == features.APPLICATION_ID
        db.execute("PRAGMA application_id = 0")  # as every cache made before the stamp
        db.commit()
    _, second = found_json(tmp_path, str(photos), *PHASH, "--cache", str(cache))
    assert second["encoded"] == 0 and second["groups"] == first["groups"]
    empty = tmp_path / "empty.sqlite"
    empty.touch()  # an empty file (a mktemp) becomes a cache
    code, _, err = run("find", str(photos), *PHASH, "--cache", str(empty))
    assert code == 1 and "rebuilt" not in err and "untouched" not in err


def test_the_default_cache_when_corrupt_is_rebuilt_and_said_once(photos, tmp_path, monkeypatch):
    from dupbench.finder.find import default_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = default_cache([photos])
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)  # dupbench's own file, in its own folder
    code, _, err = run("find", str(photos), *PHASH)
    assert code == 1 and err.count("rebuilt") == 1
    assert features.is_dupbench_cache(path)


# Point 7: a cache another process holds.

HOLDER = textwrap.dedent(
    """
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("BEGIN EXCLUSIVE")
    db.execute("INSERT INTO identities (identity) VALUES ('held')")
    print("holding", flush=True)
    sys.stdin.readline()
    db.execute("COMMIT")
    print(db.execute("SELECT COUNT(*) FROM files").fetchone()[0], flush=True)
    """
)


def test_a_cache_in_use_is_waited_for_with_a_message_then_left_to_its_holder(photos, tmp_path, monkeypatch):
    cache = tmp_path / "shared.sqlite"
    _, first = found_json(tmp_path, str(photos), *PHASH, "--cache", str(cache))
    with contextlib.closing(sqlite3.connect(cache)) as db:
        rows = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(cache)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr(features, "LOCK_WAIT", 1.5)
        target = tmp_path / "while-held.json"
        code, _, err = run("find", str(photos), *PHASH, "--cache", str(cache), "--json", str(target))
        assert code == 1, err
        assert "in use by another process: waiting up to 1.5 s" in err
        assert "temporary cache" in err and "rebuilt" not in err
        assert json.loads(target.read_text())["groups"] == first["groups"]
        assert cache.exists()
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert int(holder.stdout.readline()) == rows  # the holder's file, whole and still its own
    finally:
        holder.kill()
        holder.wait()
    with contextlib.closing(sqlite3.connect(cache)) as db:
        assert db.execute("SELECT COUNT(*) FROM identities WHERE identity = 'held'").fetchone()[0] == 1
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("dupbench-cache-*/features.sqlite-wal"))


# Point 2: undo when a path changed after the move.


def moved_photos(photos: Path, tmp_path: Path) -> tuple[Path, list[dict]]:
    code, _, err = run("find", str(photos), *PHASH, "--move-to", str(tmp_path / "dups"))
    assert code == 1, err
    (manifest,) = (tmp_path / "dups").glob("dupbench-moves-*.json")
    moves = [m for m in json.loads(manifest.read_text())["moves"] if m["done"]]
    assert len(moves) >= 2
    return manifest, moves


def test_undo_over_a_path_that_now_holds_another_file_restores_beside_it_and_says_so(photos, tmp_path):
    manifest, moves = moved_photos(photos, tmp_path)
    first, second = Path(moves[0]["from"]), Path(moves[1]["from"])
    moved_bytes = Path(moves[0]["to"]).read_bytes()
    first.write_bytes(b"a new file the person saved at this name")
    second.write_bytes(Path(moves[1]["to"]).read_bytes())  # the same bytes put back by hand
    code, out, err = run("undo", str(manifest))
    assert code == 2 and "restored beside" in err and str(first) in err
    assert first.read_bytes() == b"a new file the person saved at this name"  # never overwritten
    (beside,) = first.parent.glob(f"{first.stem} (restored by dupbench)*")
    assert beside.read_bytes() == moved_bytes and str(beside) in err
    assert second.is_file() and not Path(moves[1]["to"]).exists()  # the same bytes: only the moved name goes
    assert f"restored {len(moves) - 2} files" in out
    code, out, err = run("undo", str(manifest))
    assert (code, out, err) == (0, "", "")


def test_undo_after_the_kept_copy_was_edited_keeps_both_versions(photos, tmp_path):
    """The person edits the kept copy, then moves it where a moved copy came from: undo keeps both."""
    manifest, moves = moved_photos(photos, tmp_path)
    entry = moves[0]
    kept, home = Path(entry["kept"]), Path(entry["from"])
    kept.write_bytes(kept.read_bytes() + b"edited")
    shutil.copy(kept, home)
    before = {digest(p) for p in (kept, home, Path(entry["to"]))}
    assert run("undo", str(manifest))[0] == 2
    after = {digest(p) for p in photos.rglob("*") if p.is_file()}
    assert before <= after


# Point 4: links are never moved through, never kept in place of a real copy.


def test_a_link_to_a_file_outside_is_neither_moved_through_nor_kept_in_place_of_the_real_copy(photos, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    original = outside / "original.png"
    shutil.copy(photos / "rocket.png", original)
    (photos / "a-link.png").symlink_to(original)  # sorts before rocket.png: it used to be the copy kept
    linked_folder = tmp_path / "elsewhere"
    linked_folder.mkdir()
    shutil.copy(photos / "trip" / "byte-copy.png", linked_folder / "z-far.png")
    (photos / "zz-linked-folder").symlink_to(linked_folder, target_is_directory=True)
    before = {p: digest(p) for p in (original, linked_folder / "z-far.png", photos / "rocket.png")}
    code, out, err = run("find", str(photos), *PHASH, "--move-to", str(tmp_path / "dups"))
    assert code == 1, err
    assert {p: digest(p) for p in before} == before  # the outside files and the folder's real copy stay
    assert (photos / "a-link.png").is_symlink() and (photos / "a-link.png").resolve() == original
    assert "a symbolic link: never moved" in out or "outside the scanned folders" in out
    (manifest,) = (tmp_path / "dups").glob("dupbench-moves-*.json")
    moves = json.loads(manifest.read_text())["moves"]
    assert not [m for m in moves if m["done"] and not m["from"].startswith(str(photos.resolve()))]
    assert not [m for m in moves if m["done"] and Path(m["kept"]).name == "a-link.png"]


# Point 12: a move that stops says how to undo it.


@pytest.mark.parametrize("stop", ["ctrl-c", "disk-full"])
def test_a_move_that_stops_midway_prints_the_undo_command(photos, tmp_path, monkeypatch, stop):
    import errno

    from dupbench.finder import moves as moves_module

    real_place, calls = moves_module.place, []

    def place(source, destination):
        calls.append(source)
        if len(calls) == 2:
            raise KeyboardInterrupt if stop == "ctrl-c" else OSError(errno.ENOSPC, "No space left on device")
        real_place(source, destination)

    monkeypatch.setattr(moves_module, "place", place)
    code, _, err = run("find", str(photos), *PHASH, "--move-to", str(tmp_path / "dups"))
    assert code == (130 if stop == "ctrl-c" else 2), err
    (manifest,) = (tmp_path / "dups").glob("dupbench-moves-*.json")
    assert f"stopped after moving 2 files; to put them back: dupbench undo {manifest}" in err
    monkeypatch.setattr(moves_module, "place", real_place)
    assert run("undo", str(manifest))[:2] == (0, "restored 1 files\n")


# Point 14: a manifest whose entries are of the wrong type.


@pytest.mark.parametrize(
    "moves",
    [[{"from": 1, "to": 2, "intended": True}], [{"from": "a", "to": "b", "intended": "yes"}], ["a -> b"], {"a": 1}],
)
def test_a_manifest_with_entries_of_the_wrong_type_is_one_line(tmp_path, moves):
    manifest = tmp_path / "dupbench-moves-x.json"
    manifest.write_text(json.dumps({"tool": "dupbench", "moves": moves}))
    code, out, err = run("undo", str(manifest))
    assert code == 2 and "not a dupbench moves manifest" in err and "internal error" not in err
    assert err.count("\n") == 1


def test_an_empty_manifest_a_kill_left_before_the_plan_is_no_moves(tmp_path):
    """new_manifest reserves the name empty; a kill before the plan is written leaves it so, before any
    move: undo has nothing to put back (CI met it: a kill among test_moves_faults' 30)."""
    from dupbench.finder.moves import new_manifest

    manifest = new_manifest(tmp_path)
    assert manifest.read_bytes() == b""
    code, out, err = run("undo", str(manifest))
    assert code == 0 and err == "", (out, err)


def test_a_link_loop_given_as_cache_or_move_to_is_one_line_not_an_internal_error(photos, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for option in ("--cache", "--move-to"):
        code, _, err = run("find", str(photos), *PHASH, option, str(loop))
        assert code == 2 and "internal error" not in err and err.count("\n") == 1, (option, err)
