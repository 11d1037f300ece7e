"""Groups a person marked "not duplicates" in `dupbench review`: kept in the feature cache by their files'
contents (features.not_duplicates_key), left out of a later review and of every output of `dupbench find`."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from dupbench.features import FILE_NAME, not_duplicates_key


def marked_not_duplicates(cache_path: Path) -> set[str]:
    """The groups marked "not duplicates" in the cache, read-only (a cache another run holds is not waited
    for: its marks are read all the same, or none when it cannot be read)."""
    path = Path(cache_path)
    path = path / FILE_NAME if path.is_dir() or not path.suffix else path
    if not path.is_file():
        return set()
    try:
        db = sqlite3.connect(f"{Path(os.path.realpath(path)).as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            return {key for (key,) in db.execute("SELECT contents FROM not_duplicates")}
        finally:
            db.close()
    except sqlite3.Error:  # a cache made before the table, or not one: nothing marked
        return set()


def leave_out_not_duplicates(found, cache_path: Path) -> int:
    """The groups a person marked "not duplicates" (the same files' contents) taken out of `found.groups`;
    how many were."""
    marked = marked_not_duplicates(cache_path)
    if not marked:
        return 0
    kept = [g for g in found.groups if not_duplicates_key(found.photos[i].sha256 for i in g.members) not in marked]
    left_out = len(found.groups) - len(kept)
    found.groups[:] = kept
    return left_out
