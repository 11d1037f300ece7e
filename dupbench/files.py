"""File helpers shared by the whole project: a file's sha256, and writing files atomically (a temp
file renamed into place) with the usual permissions, under a lock where a file is read, changed and
written back."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock


def sha256_of(path: Path) -> str:
    """The file's sha256, read in chunks so a large file does not sit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold `path`'s lock for a read-modify-write (waits for another process holding it)."""
    # The lock files gather in one hidden folder beside the file, not one beside every result.
    locks = path.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{path.name}.lock"), timeout=600, mode=0o666 & ~current_umask()):
        yield


def temp_prefix(path: Path) -> str:
    """The start of the temp file's name written beside `path`: `.NAME.`, or `.dupbench-` where that and
    mkstemp's 8 random characters would pass the longest name the folder takes (a 255-byte NAME)."""
    prefix = f".{path.name}."
    try:
        longest = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    return prefix if len(os.fsencode(prefix)) + 8 <= longest else ".dupbench-"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # In the same folder as `path`, whatever the name's length: the rename into place stays atomic.
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), dir=path.parent)
    try:
        # mkstemp makes 0600; a result file gets what any new file would (0644 under umask 022).
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    # surrogateescape: a file name that is not UTF-8 is written back as the bytes it has on disk.
    atomic_write_bytes(path, text.encode("utf-8", "surrogateescape"))
