"""Writing a data set the project builds (edited copies, generated documents and charts): every file
and a MANIFEST.csv (path, group, edit, sha256, width, height, source) into a temporary folder beside
the set's, renamed into place at the end, with a BUILD.json stamp; rebuilt when the stamp (generator
version, seed, counts, source) differs or the manifest is missing."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from dupbench.files import current_umask, locked

# One row per file: path (relative), group, edit, bytes, (width, height), how it was made.
Row = tuple[str, str, str, bytes, tuple[int, int], str]


def write_set(root: Path, rows: Iterable[Row], stamp: dict) -> None:
    """Write the set into `root` atomically: built in a temporary folder, then renamed."""
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    tmp.chmod(0o777 & ~current_umask())
    try:
        table = []
        for path, group, edit, data, (width, height), how in rows:
            (tmp / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp / path).write_bytes(data)
            table.append([path, group, edit, hashlib.sha256(data).hexdigest(), width, height, how])
        with open(tmp / "MANIFEST.csv", "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["path", "group", "edit", "sha256", "width", "height", "source"])
            writer.writerows(table)
        (tmp / "BUILD.json").write_text(json.dumps(stamp))
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def ensure(root: Path, stamp: dict, build: Callable[[], None]) -> None:
    """`build()` unless `root` holds a set built with this very stamp. Runs started together on a set
    not built yet take turns under the set's lock: the first builds it, the others wait and use it.
    (Each built its own before, and the last ones to finish deleted the set under the first ones'
    readers: a run stopped on a missing file, and its rows were never written; issue 38, point 10.)"""
    if is_built(root, stamp):  # the usual case, and a read-only shared data root needs no lock
        return
    with locked(root):
        if not is_built(root, stamp):  # another run may have built it while this one waited
            build()


def is_built(root: Path, stamp: dict) -> bool:
    try:
        current = json.loads((root / "BUILD.json").read_text()) == stamp
    except (OSError, ValueError):
        return False
    return current and (root / "MANIFEST.csv").is_file()
