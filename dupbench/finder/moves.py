"""Acting on groups, never by surprise: all but each group's best copy moved (never deleted) under a
folder, keeping their paths relative to the folder they were found in, with a manifest that
`dupbench undo MANIFEST` reads to put every file back.

Write-ahead, so that no file is lost whatever point a kill hits: the manifest lists every planned
move before the first; each move is marked `intended` (manifest written) before it happens and
`done` after. Undo looks at the files, not at the marks alone: for every intended move, a file at
its destination and none at its source goes back; a destination beside a source still there is a
copy the interrupted move left (across file systems a move is a copy, then a delete) and is
removed. Before each move both files of the pair are hashed again: a file changed since the scan is
not moved (said in the manifest and on the terminal). Refused before any move: a destination that
exists, a `--move-to` folder inside a scanned folder, two scanned folders with the same name (their
files would meet under one name).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from dupbench.errors import DupbenchError
from dupbench.files import atomic_write_text, sha256_of


def plan(found, target: Path) -> list[dict]:
    roots = {}
    for photo in found.photos:
        roots.setdefault(photo.root.name, set()).add(photo.root.resolve())
    clash = [name for name, where in roots.items() if len(where) > 1]
    if clash:
        raise DupbenchError(
            f"--move-to: two scanned folders are named {clash[0]!r}; their files would meet in one place "
            "(scan them one at a time)"
        )
    inside = [root for where in roots.values() for root in where if target.resolve().is_relative_to(root)]
    if inside:
        raise DupbenchError(f"--move-to {target}: inside the scanned folder {inside[0]}; choose a folder outside it")
    moves = []
    for number, group in enumerate(found.groups, start=1):
        keep = found.photos[group.best]
        for i in group.members:
            if i == group.best:
                continue
            photo = found.photos[i]
            relative = photo.path.relative_to(photo.root) if photo.path.is_relative_to(photo.root) else photo.path.name
            moves.append(
                {
                    "group": number,
                    "from": str(photo.path.resolve()),
                    "to": str((target / photo.root.name / relative).resolve()),
                    "kept": str(keep.path.resolve()),
                    "sha256": photo.sha256,
                    "kept_sha256": keep.sha256,
                    "intended": False,
                    "done": False,
                }
            )
    return moves


def write_manifest(path: Path, moves: list[dict]) -> None:
    atomic_write_text(path, json.dumps({"tool": "dupbench", "moves": moves}, indent=1) + "\n")


def new_manifest(target: Path) -> Path:
    """A name no other run takes, even one started in the same second (created exclusively)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        path = target / f"dupbench-moves-{stamp}{f'-{attempt}' if attempt else ''}.json"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return path
        except FileExistsError:
            continue
    raise DupbenchError(f"no free manifest name in {target}")


def move(found, target: Path) -> tuple[Path, list[dict]]:
    moves = plan(found, target)
    taken = [m["to"] for m in moves if Path(m["to"]).exists()]
    if taken:
        raise DupbenchError(f"{taken[0]} exists already: nothing moved, nothing overwritten")
    target.mkdir(parents=True, exist_ok=True)
    manifest = new_manifest(target)
    write_manifest(manifest, moves)
    for entry in moves:
        destination = Path(entry["to"])
        if destination.exists():
            raise DupbenchError(f"{destination} exists already: nothing overwritten (moved so far: {manifest})")
        # No stale fact: both files of the pair are read again; a file changed since the scan stays.
        if not same_bytes(entry["from"], entry["sha256"]) or not same_bytes(entry["kept"], entry["kept_sha256"]):
            entry["skipped"] = "changed since the scan: not moved"
            continue
        entry["intended"] = True
        write_manifest(manifest, moves)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(entry["from"], destination)
        entry["done"] = True
        write_manifest(manifest, moves)
    return manifest, moves


def same_bytes(path: str, sha256: str) -> bool:
    try:
        return sha256_of(Path(path)) == sha256
    except OSError:
        return False


def read_manifest(manifest: Path) -> list[dict]:
    try:
        moves = json.loads(manifest.read_text())["moves"]
        if not isinstance(moves, list) or not all({"from", "to"} <= set(m) for m in moves):
            raise ValueError("entries without from/to")
        return moves
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DupbenchError(f"{manifest}: not a dupbench moves manifest ({type(exc).__name__}: {exc})") from None


def undo(manifest: Path) -> tuple[int, list[str]]:
    """Every intended move put back; (files restored, problems) where a file cannot go back. A second
    undo finds nothing to do and says nothing."""
    moves = read_manifest(manifest)
    restored, problems = 0, []
    for entry in moves:
        if not entry.get("intended", entry.get("done")):
            continue
        source, back = Path(entry["to"]), Path(entry["from"])
        if back.exists() and source.exists():
            # The move was cut short after copying: the original is still where it was.
            source.unlink()
        elif source.exists():
            back.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, back)
            restored += 1
        elif not back.exists():
            problems.append(f"{back}: neither there nor at {source}")
        entry["intended"] = entry["done"] = False
    write_manifest(manifest, moves)
    return restored, problems
