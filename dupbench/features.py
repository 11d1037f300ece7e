"""The one feature cache of dupbench, used by `dupbench find` and by the benchmark alike.

One SQLite file:
- files: path -> size, mtime, ctime (ns), inode, the sha256 of its bytes and the image's size as
  shown (EXIF rotation applied); a file whose four facts are unchanged is not read again to hash it
  or to read its header (ctime and inode are what `touch -r` cannot put back, so content changed
  behind a restored mtime is read again); all rows are read in one query (100,000 files warm);
- pixels: (sha256, decoder) -> the digest of the decoded pixels, for the few images that score
  perfectly against another of their size (deciding "identical pixels" decodes them in full);
- features: (sha256, identity) -> one image's representation in the .npy format (`to_bytes`,
  `from_bytes`: the one codec). `identity` (`feature_identity`) names the method, its code version,
  its model and weights, and the decode: a file moved or copied keeps its features (keyed by
  content), a changed file, method, model or decode gets new ones. Each identity's JSON is stored
  once (identities: id -> text) and rows carry its number: the text in every row and its index made
  a 100,000-image pHash cache 62 MB and each insert twice the work (version 4 files are converted).
Batches are committed at most two seconds apart and when the cache is closed (an exception or Ctrl-C
included), so an interrupted run keeps what it encoded (a killed one all but its last two seconds); several
processes may share one file (SQLite's locking, a generous busy timeout).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dupbench.methods.base import Method

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, stamp TEXT, sha256 TEXT, width INTEGER, height INTEGER);
CREATE TABLE IF NOT EXISTS features (sha256 TEXT, identity INTEGER, data BLOB, PRIMARY KEY (sha256, identity));
CREATE TABLE IF NOT EXISTS identities (id INTEGER PRIMARY KEY, identity TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS pixels (sha256 TEXT, decoder TEXT, digest TEXT, PRIMARY KEY (sha256, decoder));
"""
VERSION = 5  # PRAGMA user_version: a cache file of another version is rebuilt (4 is converted), not misread
# Version 4 -> 5: identities numbered, rows kept (a network's features can take an hour to compute).
UPGRADE_FROM_4 = """
CREATE TABLE identities (id INTEGER PRIMARY KEY, identity TEXT UNIQUE);
INSERT INTO identities (identity) SELECT DISTINCT identity FROM features;
CREATE TABLE numbered (sha256 TEXT, identity INTEGER, data BLOB, PRIMARY KEY (sha256, identity));
INSERT INTO numbered SELECT f.sha256, i.id, f.data FROM features f JOIN identities i ON i.identity = f.identity;
DROP TABLE features;
ALTER TABLE numbered RENAME TO features;
"""
FILE_NAME = "features.sqlite"  # inside a cache folder (the benchmark's `feature_cache`)
# Seconds between commits of stored features. Each commit writes every page its inserts touched to the
# write-ahead log again, and rows arrive in the random order of their sha256: 100,000 pHash rows over a
# 12 s run cost 0.68 CPU-s alone with 25 commits, 0.51 with 6 (1 commit: 0.46).
COMMIT_EVERY = 2.0
# SQLite's page cache per connection (its default is 2 MiB): rows arrive in the random order of their
# sha256, so once the index outgrew the cache nearly every insert read its pages back from the file.
# 100,000 pHash rows in batches of 32: 1.65 s with 2 MiB, 1.1 s with 8, 16 or 64 MiB. 8: at most 6 MiB
# more at a run's peak (the default method's limit is 300 MiB; 16 MiB added 15 MiB at 100,000 files).
CACHE_KIB = 8 * 1024


def to_bytes(row: np.ndarray) -> bytes:
    """The row in the .npy format: its header (shared by a method's rows, built once) and its bytes
    (np.save per row cost 0.09 ms: 0.9 s of a cold run on 10,000 images)."""
    row = np.ascontiguousarray(row)
    if row.dtype.hasobject:
        out = io.BytesIO()
        np.save(out, row, allow_pickle=False)  # refuses it with numpy's own message
        return out.getvalue()
    return npy_prefix(row.dtype.str, row.shape) + row.tobytes()


@functools.lru_cache(maxsize=64)
def npy_prefix(dtype: str, shape: tuple[int, ...]) -> bytes:
    out = io.BytesIO()
    np.save(out, np.zeros(shape, dtype=np.dtype(dtype)), allow_pickle=False)
    return out.getvalue()[: len(out.getvalue()) - int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize]


def from_bytes(data: bytes) -> np.ndarray:
    """The row to_bytes wrote. Rows of one method share their .npy header: it is parsed once, and
    each row is a view of its bytes (np.load per row cost 0.13 ms: 13 s per 100,000 cached images)."""
    if data[:6] == b"\x93NUMPY" and data[6] == 1:  # format 1.0: a 2-byte header length at 8
        end = 10 + int.from_bytes(data[8:10], "little")
        dtype, shape = npy_header(data[:end])
        if dtype is not None:
            return np.frombuffer(data, dtype=dtype, offset=end).reshape(shape)
    return np.load(io.BytesIO(data), allow_pickle=False)


@functools.lru_cache(maxsize=64)
def npy_header(header: bytes) -> tuple[np.dtype | None, tuple[int, ...]]:
    """(dtype, shape) of a C-ordered .npy header; (None, ()) for anything else (read by np.load)."""
    stream = io.BytesIO(header)
    np.lib.format.read_magic(stream)
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    if fortran or dtype.hasobject:
        return None, ()
    return dtype, shape


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


def file_stamp(stat: os.stat_result) -> str:
    """What must be unchanged for a file's cached sha256 to be trusted."""
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"


def upgrade_from_4(db: sqlite3.Connection) -> None:
    """Version 4 to 5 in one transaction that holds the write lock from its start: a kill leaves
    version 4 as it was, and a second process opening the file meanwhile waits, then finds it done."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] == 4:
            for statement in filter(str.strip, UPGRADE_FROM_4.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {VERSION}")
        db.commit()
    except BaseException:
        db.rollback()
        raise


def tuned(db: sqlite3.Connection) -> sqlite3.Connection:
    """Write-ahead log, synced at checkpoints: a commit per batch no longer waits for the disk (314
    commits cost 2.5 s of a cold run on 10,000 images). A killed process still keeps every committed
    batch; only a power cut may lose the last ones, which are encoded again next time."""
    with contextlib.suppress(sqlite3.OperationalError):  # a file system without shared memory: the default
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return db


class FeatureCache:
    def __init__(self, path: Path) -> None:
        path = Path(path)
        if path.is_dir() or not path.suffix:  # a cache folder: its one file
            path = path / FILE_NAME
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = self.open()
        self.committed = time.monotonic()
        self.numbers: dict[str, int] = {}  # identity -> its number in this file

    def open(self) -> sqlite3.Connection:
        """The cache, rebuilt (said once, on stderr) when it is corrupt, half-written or of another version."""
        try:
            db = sqlite3.connect(str(self.path), timeout=600)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
            if tables and version == 4:
                upgrade_from_4(db)
            elif tables and version != VERSION:
                raise sqlite3.DatabaseError(f"version {version}, not {VERSION}")
            db.executescript(SCHEMA)
            db.execute(f"PRAGMA user_version = {VERSION}")
            return tuned(db)
        except sqlite3.DatabaseError as problem:
            print(f"cache {self.path} could not be used ({problem}): rebuilt", file=sys.stderr)
            with contextlib.suppress(NameError):
                db.close()
            for end in ("", "-journal", "-wal", "-shm"):
                Path(f"{self.path}{end}").unlink(missing_ok=True)
            db = sqlite3.connect(str(self.path), timeout=600)
            db.executescript(SCHEMA)
            db.execute(f"PRAGMA user_version = {VERSION}")
            return tuned(db)

    def close(self) -> None:
        try:
            self.db.commit()
        finally:
            self.db.close()

    def commit_soon(self) -> None:
        """Commit when the last commit is COMMIT_EVERY old: a commit per batch of 32 cost 0.7 s of a
        cold run on 10,000 images (315 of them), on the process that waits for the workers."""
        if time.monotonic() - self.committed >= COMMIT_EVERY:
            self.commit()

    def __enter__(self) -> FeatureCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def known_files(self) -> dict[bytes, tuple[str, str, int | None, int | None]]:
        """Every file's (stamp, sha256, width, height), by its path's bytes (a name that is not UTF-8
        is a key like any other: os.fsencode). A caller trusts a row only where the stamp still matches."""
        return {path: (stamp, sha, w, h) for path, stamp, sha, w, h in self.db.execute("SELECT * FROM files")}

    def remember_files(self, rows: Iterable[tuple[Path | bytes, str, str, int | None, int | None]]) -> None:
        """(path, stamp, sha256, width, height) of files read this time, committed with the features (a
        caller that must have them on disk now calls commit)."""
        rows = [(os.fsencode(p), stamp, digest, w, h) for p, stamp, digest, w, h in rows]
        self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", rows)
        self.commit_soon()

    def commit(self) -> None:
        self.db.commit()
        self.committed = time.monotonic()

    def number(self, identity: str, add: bool = False) -> int | None:
        """The identity's number in this file (added when `add`); None when it has none yet."""
        if identity not in self.numbers:
            if add:  # OR IGNORE: another process sharing the file may have added it meanwhile
                self.db.execute("INSERT OR IGNORE INTO identities (identity) VALUES (?)", (identity,))
            row = self.db.execute("SELECT id FROM identities WHERE identity = ?", (identity,)).fetchone()
            if row is None:
                return None
            self.numbers[identity] = row[0]
        return self.numbers[identity]

    def get(self, digests: Sequence[str], identity: str) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        want = set(digests)
        number = self.number(identity)
        if number is None:
            return found
        # Most of a folder: one pass over the method's rows beats lookups (0.5 s, not 1 s, for 100,000).
        if len(want) > 5000:
            rows = self.db.execute("SELECT sha256, data FROM features WHERE identity = ?", (number,))
            return {sha: from_bytes(data) for sha, data in rows if sha in want}
        wanted = sorted(want)
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for sha, data in self.db.execute(
                f"SELECT sha256, data FROM features WHERE identity = ? AND sha256 IN ({marks})", (number, *chunk)
            ):
                found[sha] = from_bytes(data)
        return found

    def contents(self, identity: str) -> frozenset[str]:
        """The sha256 of every content with features for `identity`."""
        number = self.number(identity)
        return frozenset(sha for (sha,) in self.db.execute("SELECT sha256 FROM features WHERE identity = ?", (number,)))

    def pixel_digests(self, decoder: str) -> dict[str, str]:
        return dict(self.db.execute("SELECT sha256, digest FROM pixels WHERE decoder = ?", (decoder,)))

    def remember_pixel_digests(self, digests: dict[str, str], decoder: str) -> None:
        rows = [(sha, decoder, digest) for sha, digest in digests.items()]
        self.db.executemany("INSERT OR REPLACE INTO pixels VALUES (?, ?, ?)", rows)
        self.db.commit()

    def put(self, rows: Iterable[tuple[str, np.ndarray]], identity: str) -> None:
        number = self.number(identity, add=True)
        self.db.executemany(
            "INSERT OR REPLACE INTO features VALUES (?, ?, ?)", [(sha, number, to_bytes(row)) for sha, row in rows]
        )
        self.commit_soon()
