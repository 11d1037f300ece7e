"""The finder's cache: one SQLite file of what it knows about a folder, so a second run encodes nothing.

- files: path -> size, mtime (ns) and the sha256 of its bytes; a file whose size and mtime are
  unchanged is not read again to hash it;
- features: (sha256, identity) -> one image's representation as .npy bytes, where identity names
  the method, its code version, its model and the decode. A file moved or copied keeps its features
  (keyed by content), a changed file gets new ones.
Every batch is committed as it is stored, so an interrupted run keeps what it encoded.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
CREATE TABLE IF NOT EXISTS features (sha256 TEXT, identity TEXT, data BLOB, PRIMARY KEY (sha256, identity));
"""


class IndexCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def known_digest(self, path: Path, size: int, mtime_ns: int) -> str | None:
        row = self.db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (str(path),)).fetchone()
        return row[2] if row and row[0] == size and row[1] == mtime_ns else None

    def remember_digests(self, rows: Iterable[tuple[Path, int, int, str]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", [(str(p), s, m, d) for p, s, m, d in rows]
        )
        self.db.commit()

    def features(self, digests: Sequence[str], identity: str) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        wanted = sorted(set(digests))
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for sha, data in self.db.execute(
                f"SELECT sha256, data FROM features WHERE identity = ? AND sha256 IN ({marks})", (identity, *chunk)
            ):
                found[sha] = np.load(io.BytesIO(data), allow_pickle=False)
        return found

    def store_features(self, rows: Iterable[tuple[str, np.ndarray]], identity: str) -> None:
        def blob(row: np.ndarray) -> bytes:
            out = io.BytesIO()
            np.save(out, np.ascontiguousarray(row), allow_pickle=False)
            return out.getvalue()

        self.db.executemany(
            "INSERT OR REPLACE INTO features VALUES (?, ?, ?)", [(sha, identity, blob(row)) for sha, row in rows]
        )
        self.db.commit()
