"""Acting on groups, never by surprise: all but each group's best copy moved (never deleted) under a
folder, keeping their paths relative to the folder they were found in, with a manifest that
`dupbench undo MANIFEST` reads to put every file back.

The manifest is written before the first move (every move planned, none done) and rewritten after
each, so an interrupted run leaves a manifest that undo can use.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from dupbench.errors import DupbenchError
from dupbench.files import atomic_write_text


def plan(found, target: Path) -> list[dict]:
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
                    "done": False,
                }
            )
    return moves


def write_manifest(path: Path, moves: list[dict]) -> None:
    atomic_write_text(path, json.dumps({"tool": "dupbench", "moves": moves}, indent=1) + "\n")


def move(found, target: Path) -> tuple[Path, list[dict]]:
    moves = plan(found, target)
    target.mkdir(parents=True, exist_ok=True)
    manifest = target / f"dupbench-moves-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_manifest(manifest, moves)
    for entry in moves:
        destination = Path(entry["to"])
        if destination.exists():
            raise DupbenchError(f"{destination} exists already: nothing overwritten (moved so far: {manifest})")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(entry["from"], destination)
        entry["done"] = True
        write_manifest(manifest, moves)
    return manifest, moves


def undo(manifest: Path) -> tuple[int, list[str]]:
    """Every done move put back; (files restored, problems) where a file cannot go back."""
    try:
        moves = json.loads(manifest.read_text())["moves"]
    except (OSError, ValueError, KeyError) as exc:
        raise DupbenchError(f"{manifest}: not a dupbench moves manifest ({exc})") from None
    restored, problems = 0, []
    for entry in moves:
        if not entry.get("done"):
            continue
        source, back = Path(entry["to"]), Path(entry["from"])
        if not source.exists():
            problems.append(f"{source}: no longer there")
        elif back.exists():
            problems.append(f"{back}: exists again; {source} left where it is")
        else:
            back.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, back)
            entry["done"] = False
            restored += 1
    write_manifest(manifest, moves)
    return restored, problems
