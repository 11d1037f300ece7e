"""The one feature cache of dupbench, used by `dupbench find` and by the benchmark alike.

One SQLite file:
- files: path -> size, mtime (ns) and the sha256 of its bytes; a file whose size and mtime are
  unchanged is not read again to hash it;
- features: (sha256, identity) -> one image's representation in the .npy format (`to_bytes`,
  `from_bytes`: the one codec). `identity` (`feature_identity`) names the method, its code version,
  its model and weights, and the decode: a file moved or copied keeps its features (keyed by
  content), a changed file, method, model or decode gets new ones.
Every batch is committed as it is stored, so an interrupted run keeps what it encoded; several
processes may share one file (SQLite's locking, a generous busy timeout).
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dupbench.methods.base import Method

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
CREATE TABLE IF NOT EXISTS features (sha256 TEXT, identity TEXT, data BLOB, PRIMARY KEY (sha256, identity));
"""
FILE_NAME = "features.sqlite"  # inside a cache folder (the benchmark's `feature_cache`)


def to_bytes(row: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(row), allow_pickle=False)
    return out.getvalue()


def from_bytes(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def feature_identity(method: Method, decode: str) -> str:
    """What one image's cached representation depends on besides the file's bytes."""
    return json.dumps(
        {
            "method": method.name,  # two methods over the same features each encode on their first run
            "code": method.code_version(),
            "model": method.cache_identity(),
            "describe": method.describe(),
            "decode": decode,
        },
        sort_keys=True,
        default=str,
    )


class FeatureCache:
    def __init__(self, path: Path) -> None:
        path = Path(path)
        if path.is_dir() or not path.suffix:  # a cache folder: its one file
            path = path / FILE_NAME
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=600)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> FeatureCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def known_digest(self, path: Path, size: int, mtime_ns: int) -> str | None:
        row = self.db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (str(path),)).fetchone()
        return row[2] if row and row[0] == size and row[1] == mtime_ns else None

    def remember_digests(self, rows: Iterable[tuple[Path, int, int, str]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", [(str(p), s, m, d) for p, s, m, d in rows]
        )
        self.db.commit()

    def get(self, digests: Sequence[str], identity: str) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        wanted = sorted(set(digests))
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for sha, data in self.db.execute(
                f"SELECT sha256, data FROM features WHERE identity = ? AND sha256 IN ({marks})", (identity, *chunk)
            ):
                found[sha] = from_bytes(data)
        return found

    def put(self, rows: Iterable[tuple[str, np.ndarray]], identity: str) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO features VALUES (?, ?, ?)", [(sha, identity, to_bytes(row)) for sha, row in rows]
        )
        self.db.commit()
