"""Issue 38: no file lost through `--cache` or `dupbench undo`, links never moved through, a cache in use
never deleted. In-process through dupbench.finder.cli.main, but for the process that holds a lock."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
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
