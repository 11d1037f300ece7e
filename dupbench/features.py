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
processes may share one file (SQLite's locking, a generous busy timeout). A cache another process holds
past LOCK_WAIT is left to it (this run uses a temporary one); a file given as the cache that is not one is
refused untouched (`given`); only a file known to be a cache is ever rebuilt.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dupbench.errors import DupbenchError
from dupbench.methods.base import Method

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, stamp TEXT, sha256 TEXT, width INTEGER, height INTEGER);
CREATE TABLE IF NOT EXISTS features (sha256 TEXT, identity INTEGER, data BLOB, PRIMARY KEY (sha256, identity));
CREATE TABLE IF NOT EXISTS identities (id INTEGER PRIMARY KEY, identity TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS pixels (sha256 TEXT, decoder TEXT, digest TEXT, PRIMARY KEY (sha256, decoder));
CREATE TABLE IF NOT EXISTS not_duplicates (contents TEXT PRIMARY KEY, marked TEXT);
"""
# not_duplicates: groups a person marked "not duplicates" in `dupbench review`, by the sorted sha256 of their
# files joined by commas (not_duplicates_key): the same files are not shown again as a group (a cache made
# before the table gets it at the first mark).
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
# SQLite's application_id ("dupb"): a file carrying it is a dupbench cache. `--cache PATH` refuses any other
# file, untouched: a path given by mistake used to be "rebuilt" (a thesis, another program's database).
APPLICATION_ID = 0x64757062
CACHE_TABLES = frozenset({"files", "features", "identities", "pixels", "not_duplicates"})
# Another process holding the cache's write lock (a second run commits every COMMIT_EVERY seconds): waited
# for, with a line on stderr, then this run goes on with a temporary cache. Mid-run, a write waits
# BUSY_TIMEOUT_MS for a holder's commit.
LOCK_WAIT = 30.0
LOCK_WAIT_STEP = 0.5
BUSY_TIMEOUT_MS = 600_000


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


def not_duplicates_key(digests: Iterable[str]) -> str:
    """A group by its contents: the sorted sha256 of its files (each once), joined by commas."""
    return ",".join(sorted(set(digests)))


def file_stamp(stat: os.stat_result) -> str:
    """What must be unchanged for a file's cached sha256 to be trusted."""
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"


def is_busy(problem: sqlite3.OperationalError) -> bool:
    """The error says another connection holds a lock, not that the file is broken."""
    return "locked" in str(problem) or "busy" in str(problem)


def refuse_unless_a_cache(path: Path) -> None:
    """A path a person named for the cache: an empty or missing file becomes one; a dupbench cache is
    used; anything else is refused and left as it is."""
    try:
        if not path.exists() or (path.is_file() and path.stat().st_size == 0):
            return
        if path.is_file() and is_dupbench_cache(path):
            return
    except OSError as problem:
        raise DupbenchError(f"--cache {path}: cannot be read ({problem.strerror or problem})") from None
    what = "not a regular file" if not path.is_file() else "not a dupbench cache"
    raise DupbenchError(
        f"--cache {path}: holds a file that is {what}; left untouched (give a new file name or a dupbench cache)"
    )


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


def stamped(db: sqlite3.Connection) -> None:
    """The cache's tables, version and application id (what makes the file recognisably dupbench's)."""
    db.executescript(SCHEMA)
    db.execute(f"PRAGMA user_version = {VERSION}")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.commit()


def tuned(db: sqlite3.Connection) -> sqlite3.Connection:
    """Write-ahead log, synced at checkpoints: a commit per batch no longer waits for the disk (314
    commits cost 2.5 s of a cold run on 10,000 images). A killed process still keeps every committed
    batch; only a power cut may lose the last ones, which are encoded again next time."""
    with contextlib.suppress(sqlite3.OperationalError):  # a file system without shared memory: the default
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return db


class CacheInUse(Exception):
    """Another process holds the cache's write lock past LOCK_WAIT."""


def sqlite_header(path: Path) -> bytes | None:
    """The file's first 100 bytes when it is an SQLite database (its header), else None."""
    with open(path, "rb") as f:
        head = f.read(100)
    return head if head.startswith(b"SQLite format 3\x00") and len(head) == 100 else None


def is_dupbench_cache(path: Path) -> bool:
    """The file is a dupbench cache: SQLite stamped with dupbench's application id, or (a cache made before
    the stamp) a database of version 4 or 5 holding only the cache's tables. Read-only: nothing is changed."""
    head = sqlite_header(path)
    if head is None:
        return False
    application = int.from_bytes(head[68:72], "big")
    if application:
        return application == APPLICATION_ID
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=LOCK_WAIT)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.OperationalError as problem:
        if is_busy(problem):
            raise DupbenchError(f"--cache {path}: in use by another process, so it cannot be checked") from None
        return False
    except sqlite3.DatabaseError:
        return False
    return version in (4, VERSION) and bool(tables) and tables <= CACHE_TABLES


class FeatureCache:
    """`given`: the path was named by a person (`--cache PATH`): a file there that is not a dupbench cache
    is refused, untouched (a thesis, a photo, another program's database). A file in dupbench's own cache
    folders that cannot be used is dupbench's to rebuild."""

    def __init__(self, path: Path, given: bool = False) -> None:
        path = Path(path)
        if path.is_dir() or not path.suffix:  # a cache folder: its one file
            path = path / FILE_NAME
        self.path = path
        self.temporary = False  # another process held the cache: this run keeps its features in a temporary one
        if given:
            refuse_unless_a_cache(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = self.open()
        except CacheInUse:
            self.use_a_temporary_cache()
        self.committed = time.monotonic()
        self.numbers: dict[str, int] = {}  # identity -> its number in this file

    def open(self) -> sqlite3.Connection:
        """The cache, rebuilt (said once, on stderr) when it is corrupt, half-written or of another version;
        CacheInUse when another process holds it past LOCK_WAIT (waited for with one line on stderr: a run
        that found its cache held used to wait ten minutes without a word, then delete the file in use)."""
        waited, said = 0.0, False
        while True:
            try:
                return self.connect()
            except sqlite3.OperationalError as problem:
                if not is_busy(problem):
                    return self.rebuilt(problem)
                if waited >= LOCK_WAIT:
                    raise CacheInUse(str(problem)) from None
                if not said:
                    print(f"cache {self.path} is in use by another process: waiting up to {LOCK_WAIT:g} s",
                          file=sys.stderr)  # fmt: skip
                    said = True
                time.sleep(LOCK_WAIT_STEP)
                waited += 2 * LOCK_WAIT_STEP  # the connection's own busy wait, then this sleep
            except sqlite3.DatabaseError as problem:
                return self.rebuilt(problem)

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=LOCK_WAIT_STEP)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
            if tables and version == 4:
                upgrade_from_4(db)
            elif tables and version != VERSION:
                raise sqlite3.DatabaseError(f"version {version}, not {VERSION}")
            db.execute("BEGIN IMMEDIATE")  # the write lock is free now, or this waits and says so
            db.rollback()
            if not tables or db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                stamped(db)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            return tuned(db)
        except BaseException:
            db.close()
            raise

    def rebuilt(self, problem: Exception) -> sqlite3.Connection:
        print(f"cache {self.path} could not be used ({problem}): rebuilt", file=sys.stderr)
        for end in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{end}").unlink(missing_ok=True)
        db = sqlite3.connect(str(self.path), timeout=LOCK_WAIT)
        stamped(db)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return tuned(db)

    def use_a_temporary_cache(self) -> None:
        """This run's features in a new file, removed at close: the cache in use is left to its holder."""
        folder = Path(tempfile.mkdtemp(prefix="dupbench-cache-"))
        print(
            f"cache {self.path} is still in use by another process: this run uses a temporary cache "
            f"(its features are not kept for the next run)",
            file=sys.stderr,
        )
        self.path, self.temporary = folder / FILE_NAME, True
        self.db = self.open()

    def close(self) -> None:
        try:
            self.db.commit()
        finally:
            self.db.close()
            if self.temporary:
                shutil.rmtree(self.path.parent, ignore_errors=True)

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

    def mark_not_duplicates(self, digests: Iterable[str]) -> None:
        """A group a person marked "not duplicates", by its files' contents (read back by finder/marks.py)."""
        self.db.execute("CREATE TABLE IF NOT EXISTS not_duplicates (contents TEXT PRIMARY KEY, marked TEXT)")
        self.db.execute(
            "INSERT OR REPLACE INTO not_duplicates VALUES (?, ?)",
            (not_duplicates_key(digests), time.strftime("%Y-%m-%d %H:%M:%S")),
        )
        self.commit()

    def put(self, rows: Iterable[tuple[str, np.ndarray]], identity: str) -> None:
        number = self.number(identity, add=True)
        self.db.executemany(
            "INSERT OR REPLACE INTO features VALUES (?, ?, ?)", [(sha, number, to_bytes(row)) for sha, row in rows]
        )
        self.commit_soon()
