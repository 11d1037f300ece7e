"""Acting on groups, never by surprise: all but each group's best copy moved (never deleted) under a
folder, keeping their paths relative to the folder they were found in, with a manifest that
`dupbench undo MANIFEST` reads to put every file back.

Write-ahead, so that no file is lost whatever point a kill hits: the manifest lists every planned
move before the first; each move is marked `intended` (manifest written) before it happens and
`done` after. A file is placed by a hard link, then its old name removed (across file systems: a copy
under a `.dupbench-partial` name, linked into place, then removed): a kill leaves it at one name or at
both, never at neither, and a link never replaces an existing file, so nothing is ever overwritten.

Undo looks at the files, not at the marks alone, and never deletes or overwrites a person's file: a
moved file goes back to its path when that path is free; when the path holds the same bytes (a move cut
short after its link or copy) the moved name alone is removed; when it holds other bytes (a new file,
or the kept copy edited since) the moved file is restored beside it under a new name that undo reports.

Before each move both files of the pair are hashed again: a file changed since the scan is not moved
(said in the manifest and on the terminal). Never moved: a symbolic link (it is not a copy, and moving
through it would move a file outside the folder), a file whose real place is outside the scanned folders.
Refused before any move: a destination that exists, a `--move-to` folder inside a scanned folder, two
scanned folders with the same name (their files would meet under one name).
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from dupbench.errors import DupbenchError
from dupbench.files import atomic_write_text, sha256_of

PARTIAL = ".dupbench-partial"  # a copy across file systems before it is linked into place
# A hard link cannot be made here: across file systems, or a file system without them.
NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP, errno.ENOTSUP}


def roots_of(found) -> dict[str, set[Path]]:
    roots: dict[str, set[Path]] = {}
    for photo in found.photos:
        roots.setdefault(photo.root.name, set()).add(Path(os.path.realpath(photo.root)))
    return roots


def why_not_movable(path: Path, real_roots: list[Path]) -> str | None:
    """Why a scanned file is never moved: a link is not a copy, and a file reached through a linked folder
    lives outside the folders given."""
    if path.is_symlink():
        return "a symbolic link: never moved (it is not a copy; the file behind it stays where it is)"
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(root) for root in real_roots):
        return f"its real place {real} is outside the scanned folders: never moved"
    return None


def plan(found, target: Path) -> list[dict]:
    """Every group's copies but its best: what `--move-to` moves."""
    every = [(number, g.best, [i for i in g.members if i != g.best]) for number, g in enumerate(found.groups, start=1)]
    return plan_chosen(found, target, every)


def plan_chosen(found, target: Path, chosen: list[tuple[int, int, list[int]]]) -> list[dict]:
    """The moves of a person's choices (`dupbench review`): for each (group number, the photo kept, the photos
    moved), photos given by their index in `found.photos`; the same entries, checks and refusals as plan's."""
    roots = roots_of(found)
    clash = [name for name, where in roots.items() if len(where) > 1]
    if clash:
        raise DupbenchError(
            f"--move-to: two scanned folders are named {clash[0]!r}; their files would meet in one place "
            "(scan them one at a time)"
        )
    real_roots = [root for where in roots.values() for root in where]
    # realpath, not resolve, everywhere here: a link loop given as --move-to made Python 3.11's resolve raise.
    real_target = Path(os.path.realpath(target))
    inside = [root for root in real_roots if real_target.is_relative_to(root)]
    if inside:
        raise DupbenchError(f"--move-to {target}: inside the scanned folder {inside[0]}; choose a folder outside it")
    moves = []
    for number, best, moved in chosen:
        keep = found.photos[best]
        for i in moved:
            photo = found.photos[i]
            relative = photo.path.relative_to(photo.root) if photo.path.is_relative_to(photo.root) else photo.path.name
            entry = {
                "group": number,
                "from": os.path.realpath(photo.path),
                "to": os.path.realpath(target / photo.root.name / relative),
                "kept": os.path.realpath(keep.path),
                "sha256": photo.sha256,
                "kept_sha256": keep.sha256,
                "intended": False,
                "done": False,
            }
            why = why_not_movable(photo.path, real_roots) or why_not_movable(keep.path, real_roots)
            if why:
                entry["from"] = os.path.abspath(photo.path)
                entry["skipped"] = why if why_not_movable(photo.path, real_roots) else f"its kept copy is {why}"
            moves.append(entry)
    return moves


def undo_command(manifest: Path) -> str:
    """The command that puts a manifest's moves back, quoted for the shell as a person pastes it."""
    return f"dupbench undo {shlex.quote(str(manifest))}"


def write_manifest(path: Path, moves: list[dict]) -> None:
    atomic_write_text(path, json.dumps({"tool": "dupbench", "moves": moves}, indent=1) + "\n")


def new_manifest(target: Path) -> Path:
    """A name no other run takes, even one started in the same second (created exclusively, empty: a kill
    before write_manifest leaves it so, and read_manifest reads it as no moves, which it is)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        path = target / f"dupbench-moves-{stamp}{f'-{attempt}' if attempt else ''}.json"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return path
        except FileExistsError:
            continue
    raise DupbenchError(f"no free manifest name in {target}")


def partial_of(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}{PARTIAL}")


def place(source: Path, destination: Path) -> None:
    """The file at `source` moved to `destination`, which must not exist (FileExistsError: nothing is
    overwritten). A kill at any point leaves the file at `source`, or at both names with the same bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError as problem:
        if problem.errno not in NO_LINK:
            raise
        partial = partial_of(destination)
        partial.unlink(missing_ok=True)  # a copy an earlier kill cut short: ours, never a person's file
        shutil.copy2(source, partial)
        try:
            os.link(partial, destination)
        finally:
            partial.unlink(missing_ok=True)
    os.unlink(source)


def move(found, target: Path, started: Callable[[Path], None] = lambda manifest: None) -> tuple[Path, list[dict]]:
    """`started` is told the manifest's path before the first move: a caller that is stopped (Ctrl-C, a
    full disk) can still say how to undo what moved."""
    return carry_out(plan(found, target), target, started)


def move_chosen(
    found, target: Path, chosen: list[tuple[int, int, list[int]]], started: Callable[[Path], None] = lambda m: None
) -> tuple[Path, list[dict]]:
    """A person's choices moved (plan_chosen), write-ahead as `--move-to`'s."""
    return carry_out(plan_chosen(found, target, chosen), target, started)


def carry_out(moves: list[dict], target: Path, started: Callable[[Path], None]) -> tuple[Path, list[dict]]:
    """The planned moves made, write-ahead: the manifest first, each move marked before and after."""
    taken = [m["to"] for m in moves if not m.get("skipped") and os.path.lexists(m["to"])]
    if taken:
        raise DupbenchError(f"{taken[0]} exists already: nothing moved, nothing overwritten")
    target.mkdir(parents=True, exist_ok=True)
    manifest = new_manifest(target)
    write_manifest(manifest, moves)
    started(manifest)
    for entry in moves:
        if entry.get("skipped"):
            continue
        # No stale fact: both files of the pair are read again; a file changed since the scan stays.
        if not same_bytes(entry["from"], entry["sha256"]) or not same_bytes(entry["kept"], entry["kept_sha256"]):
            entry["skipped"] = "changed since the scan: not moved"
            continue
        entry["intended"] = True
        write_manifest(manifest, moves)
        try:
            place(Path(entry["from"]), Path(entry["to"]))
        except FileExistsError:
            entry["intended"] = False
            entry["skipped"] = f"{entry['to']} appeared during the move: nothing overwritten"
            write_manifest(manifest, moves)
            continue
        except OSError as problem:
            write_manifest(manifest, moves)
            raise DupbenchError(f"moving {entry['from']}: {problem.strerror or problem}: stopped") from None
        entry["done"] = True
        write_manifest(manifest, moves)
    return manifest, moves


def same_bytes(path: str, sha256: str) -> bool:
    try:
        return os.path.isfile(path) and not os.path.islink(path) and sha256_of(Path(path)) == sha256
    except OSError:
        return False


def read_manifest(manifest: Path) -> list[dict]:
    try:
        text = manifest.read_text()
        if not text:  # new_manifest's reservation, killed before the plan was written: nothing was moved yet
            return []
        moves = json.loads(text)["moves"]
        if not isinstance(moves, list):
            raise ValueError("'moves' is not a list")
        for entry in moves:
            if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) for key in ("from", "to")):
                raise ValueError(f"an entry without a 'from' and a 'to' path: {str(entry)[:80]}")
            if not all(isinstance(entry.get(key, False), bool) for key in ("intended", "done")):
                raise ValueError(f"an entry whose marks are not true or false: {str(entry)[:80]}")
        return moves
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DupbenchError(f"{manifest}: not a dupbench moves manifest ({type(exc).__name__}: {exc})") from None


def free_name_beside(path: Path) -> Path:
    for n in range(1, 10_000):
        candidate = path.with_name(f"{path.stem} (restored by dupbench{f' {n}' if n > 1 else ''}){path.suffix}")
        if not os.path.lexists(candidate):
            return candidate
    raise DupbenchError(f"no free name beside {path}")


def same_content(a: Path, b: Path) -> bool:
    """Two regular files with the same bytes; a link is never the same content (a link put at a moved
    file's old path to an identical file elsewhere made undo remove the moved file)."""
    if a.is_symlink() or b.is_symlink():
        return False
    try:
        return a.is_file() and b.is_file() and (os.path.samefile(a, b) or sha256_of(a) == sha256_of(b))
    except OSError:
        return False


def put_back(moved: Path, home: Path) -> tuple[str, Path | None]:
    """The moved file back home ("home"), or beside it under a new name when home holds another file
    ("beside", that name); when home holds the same bytes (a move cut short after its link or copy), only
    the moved name is removed ("same")."""
    if os.path.lexists(home) and same_content(home, moved):
        moved.unlink()
        return "same", None
    if not os.path.lexists(home):
        try:
            place(moved, home)
            return "home", None
        except FileExistsError:  # home appeared meanwhile: nothing overwritten
            pass
    beside = free_name_beside(home)
    place(moved, beside)
    return "beside", beside


def undo(manifest: Path) -> tuple[int, list[str], list[str]]:
    """Every intended move put back: (files restored home, lines naming the files restored beside their
    home under a new name, problems where a file cannot go back). Never deletes or overwrites a person's
    file. A second undo finds nothing to do and says nothing."""
    moves = read_manifest(manifest)
    restored, beside, problems = 0, [], []
    for entry in moves:
        if not entry.get("intended", entry.get("done")):
            continue
        moved, home = Path(entry["to"]), Path(entry["from"])
        try:
            partial_of(moved).unlink(missing_ok=True)  # a copy a kill cut short: the file is still at home
            if not os.path.lexists(moved):
                if not os.path.lexists(home):
                    problems.append(f"{home}: neither there nor at {moved}")
            elif moved.is_symlink() or not moved.is_file():
                problems.append(f"{moved}: no longer a file; left where it is")
                continue
            else:
                status, where = put_back(moved, home)
                restored += status == "home"
                if where is not None:
                    entry["restored_beside"] = str(where)
                    beside.append(f"{home} holds another file: the moved file is restored beside it as {where}")
        except OSError as problem:
            problems.append(f"{moved}: {problem.strerror or problem}; left where it is")
            continue
        entry["intended"] = entry["done"] = False
    write_manifest(manifest, moves)
    return restored, beside, problems
