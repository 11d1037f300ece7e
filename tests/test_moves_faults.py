"""Issue 38's fault injection for moves and undo: a `--move-to` run killed (SIGKILL) at a random moment,
then a random change a person makes before undoing (a moved file's old path given a new file, a moved file
edited, a kept copy deleted, a link put at a moved file's old path, a destination filled before the run),
then `dupbench undo`. After each trial: every distinct content that existed (and every one the person
made) exists, each original path holds its own bytes or the person's new file, a moved file whose path
was taken is beside it under the name undo reports, and nothing outside the folder and the destination
changed."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dupbench.finder.cli import main
from dupbench.finder.moves import read_manifest
from experiments.data.embedded import ensure_embedded
from tests.test_find import EMBEDDED

# The manifests, and a manifest's temp file a kill cut short (".dupbench-moves-...json.XXXX").
OURS = ("dupbench-moves-", ".dupbench-moves-")
CHANGES = ("replaced", "edited", "kept-deleted", "linked", "filled")  # one in every trial


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents(folder: Path) -> dict[Path, str]:
    """Every regular file under `folder` (links not followed) and its sha256."""
    return {p: sha(p) for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


def undo(manifest: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["undo", str(manifest)])
    return code, err.getvalue()


def change(kind: str, moves: list[dict], outside: Path, rng: random.Random) -> tuple[set[str], dict[Path, str]]:
    """A person's change after the stop: (contents the person made, paths that now hold the person's file
    by its sha256, or 'link' for a link)."""
    made: set[str] = set()
    taken: dict[Path, str] = {}
    started = [m for m in moves if m["intended"] and Path(m["to"]).exists()]  # files the move reached
    if not started or kind == "filled":
        return made, taken
    entry = rng.choice(started)
    home, moved, kept = Path(entry["from"]), Path(entry["to"]), Path(entry["kept"])
    if kind == "replaced":
        home.unlink(missing_ok=True)
        home.write_bytes(b"a new file saved here by the person " + os.urandom(8))
        made.add(sha(home))
        taken[home] = sha(home)
    elif kind == "edited" and moved.exists():
        with open(moved, "ab") as f:  # in place: a hard link left by the kill sees the edit too
            f.write(b"edited " + os.urandom(8))
        made.add(sha(moved))
    elif kind == "kept-deleted":
        kept.unlink(missing_ok=True)
    elif kind == "linked":
        home.unlink(missing_ok=True)
        home.symlink_to(outside / "sentinel.png")
        taken[home] = "link"
    return made, taken


@pytest.mark.slow
def test_moves_and_undo_keep_every_file_through_30_kills_and_30_changes(tmp_path):
    ensure_embedded(EMBEDDED)
    sources = sorted((EMBEDDED / name / "0_original.png") for name in ("rocket", "coins", "coffee", "astronaut"))
    folder = tmp_path / "photos"
    for k in range(40):
        sub = folder / f"day{k % 8}"
        sub.mkdir(parents=True, exist_ok=True)
        for source in sources:
            shutil.copy(source, sub / f"{source.parent.name}-{k}.png")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(sources[0], outside / "sentinel.png")
    (folder / "day0" / "a-link.png").symlink_to(outside / "sentinel.png")  # never moved through
    outside_before = contents(outside)
    originals = contents(folder)
    command = [str(Path(sys.executable).parent / "dupbench"), "find", str(folder), "--method", "phash"]
    command += ["--threshold", "0", "--quiet", "--cache", str(tmp_path / "cache.sqlite")]
    start = time.perf_counter()
    subprocess.run([*command, "--move-to", str(tmp_path / "whole")], check=False, capture_output=True)
    whole = time.perf_counter() - start
    (manifest,) = (tmp_path / "whole").glob("dupbench-moves-*.json")
    assert undo(manifest)[0] == 0 and contents(folder) == originals
    rng = random.Random(38)
    landed = {kind: 0 for kind in CHANGES}
    during = 0  # kills that landed while files were being moved
    for trial in range(30):
        kind = CHANGES[trial % len(CHANGES)]
        target = tmp_path / f"dups{trial}"
        made: set[str] = set()
        if kind == "filled":  # a destination taken before the run: refused, the filler untouched
            filler = target / "photos" / f"day{rng.randrange(8)}" / f"coins-{rng.randrange(8, 40)}.png"
            filler.parent.mkdir(parents=True)
            filler.write_bytes(b"the person's own file " + os.urandom(8))
            made.add(sha(filler))
        process = subprocess.Popen([*command, "--move-to", str(target)], stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3 * whole, 1.1 * whole))
        process.kill()
        process.wait()
        manifests = list(target.glob("dupbench-moves-*.json"))
        moves = [m for manifest in manifests for m in read_manifest(manifest)]  # empty: killed before the plan
        during += any(m["intended"] for m in moves) and not all(m["done"] for m in moves if not m.get("skipped"))
        extra, taken = change(kind, moves, outside, rng)
        made |= extra
        landed[kind] += bool(taken or extra or kind == "kept-deleted" and moves)
        said = ""
        for manifest in manifests:
            code, err = undo(manifest)
            assert code in (0, 2), err
            assert "internal error" not in err
            said += err
            assert undo(manifest) == (0, ""), "a second undo has nothing to do and says nothing"
        after = contents(folder) | contents(target)
        # Every content is still somewhere: the four photos and whatever the person made.
        assert set(originals.values()) | made <= set(after.values()), (trial, kind)
        for path, digest in originals.items():
            if path in taken:  # the person's file stays; the moved one is beside it, named by undo
                assert path.is_symlink() if taken[path] == "link" else sha(path) == taken[path], (trial, path)
                beside = [p for p in path.parent.glob(f"{path.stem} (restored by dupbench*){path.suffix}")]
                assert beside and all(str(p) in said for p in beside), (trial, path, said)
                assert sha(beside[0]) == digest
            elif path.exists():
                assert sha(path) == digest or sha(path) in made, (trial, path)
            else:  # only a kept copy the person deleted is missing
                assert kind == "kept-deleted", (trial, path)
        leftovers = [p for p in target.rglob("*") if p.is_file() and not p.name.startswith(OURS)]
        assert all(sha(p) in made for p in leftovers), (trial, leftovers)
        assert contents(outside) == outside_before and (folder / "day0" / "a-link.png").is_symlink()
        # Back to the start for the next trial.
        for path in taken:
            for p in path.parent.glob(f"{path.stem} (restored by dupbench*){path.suffix}"):
                os.replace(p, path) if taken[path] != "link" or not path.unlink() else None
        for path, digest in originals.items():
            if not path.exists() or sha(path) != digest:
                path.unlink(missing_ok=True)
                shutil.copy(next(s for s in sources if sha(s) == digest), path)
    print("changes that met a moved file:", landed, "kills during the moves:", during)
    assert sum(landed.values()) >= 12, landed
    assert during >= 10, f"only {during} kills landed during the moves"
