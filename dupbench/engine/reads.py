"""Reading the files the cache has no facts for, each file once: the sha256 of its bytes, its size as
shown (EXIF rotation applied) and, for a method that prepares whole batches on its workers (a hash),
the features of every content not cached yet, decoded from the same bytes and the same opened image.

`dupbench find` used to read a new file three times on one core: its sha256, then its header, then
its pixels on the workers. On 10,000 small JPEGs the first two were ~5 s of a ~17 s cold run (profiled
beside another job); here they ride on the workers that decode anyway.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from dupbench.engine.prepare import start_workers_early
from dupbench.errors import UnreadableImage
from dupbench.files import sha256_of
from dupbench.images import fastjpeg
from dupbench.images.decode import (
    BATCH,
    DECODE_ERRORS,
    PROCESSES_FROM,
    Decode,
    batches,
    decode_jpeg,
    decode_opened,
    fork_is_safe,
    worker_pool,
)
from dupbench.images.read import LARGE_FILE, read_bytes
from dupbench.methods.base import Method

EXIF_ORIENTATION = 0x0112
# Files per batch handed to a worker: a batch's fixed costs (its hand-over both ways, the method's batch
# arithmetic, a cache insert) were ~10 % of a cold 100,000-image pHash run in batches of 32: 32 -> 128 ->
# 256 took it 16.2-17.5 s -> 15.3-16.4 s -> 14.3-14.4 s (512: 14.9-15.5). A small folder gets smaller
# batches, at least four per worker, so no worker waits while another finishes a long one.
READ_BATCH = 256


class Facts(NamedTuple):
    """A tuple, not a dataclass: made on a worker and pickled back for every file (a frozen dataclass
    costs a setattr per field to make and its whole dict to pickle)."""

    sha256: str
    width: int  # as shown: a JPEG whose EXIF turns it a quarter shows its height as its width
    height: int


@dataclass
class ReadBatch:
    facts: dict[int, Facts]  # index -> facts, for every file whose header was read
    unreadable: dict[int, tuple[str, str]]  # index -> (sha256 or "" when the bytes were not read, why)
    prepared: list[int]  # the indices whose features are in `part`, one per new content
    part: Any  # the method's prepare_many of them (None when none)


def shown_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    if image.format == "JPEG" and image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
        return height, width
    return width, height


# The contents the cache already has features for: a worker process's copy is set once, when the pool
# starts (sent with every batch it would be 6 MiB a batch at 100,000 files).
_cached: frozenset[str] = frozenset()


def remember_cached(contents: frozenset[str]) -> None:
    global _cached
    _cached = contents


def read_batch(
    method: Method, files: Sequence[tuple[int, str | bytes | Path]], want: Decode, prepare: bool
) -> ReadBatch:
    """One batch read (module-level: a process pool's worker runs it). A file whose content cannot be
    decoded is left out of `prepared`: the caller's encoding meets it again and records why."""
    out = ReadBatch({}, {}, [], None)
    images, met, parts = [], set(), []
    for i, path in files:
        path = os.fsdecode(path)  # the main process sends bytes (its cache keys): named as text from here
        if len(images) == BATCH:  # decoded images held at most BATCH at a time (a batch may be READ_BATCH)
            parts.append(method.prepare_many(images))
            images = []
        try:
            data = read_bytes(path, LARGE_FILE)
            # A file over LARGE_FILE is never held whole: hashed in 1 MiB chunks, its image opened from its path.
            sha = hashlib.sha256(data).hexdigest() if data is not None else sha256_of(Path(path))
        except OSError as exc:
            out.unreadable[i] = ("", unreadable_because(exc, path))
            continue
        new = prepare and sha not in _cached and sha not in met
        head = fastjpeg.header(data) if data is not None else None  # a plain JPEG: without Pillow's parsing
        fast = decode_jpeg(data, head, want, method.takes_arrays) if head is not None and new else None
        if head is not None and (fast is not None or not new):
            out.facts[i] = Facts(sha, *head.shown)
            if fast is not None:
                met.add(sha)
                images.append(fast)
                out.prepared.append(i)
            continue
        try:
            with Image.open(io.BytesIO(data) if data is not None else path) as image:
                out.facts[i] = Facts(sha, *shown_size(image))
                if new:
                    met.add(sha)
                    images.append(decode_opened(image, want))
                    out.prepared.append(i)
        except UnreadableImage:  # its header read, its pixels did not: left to the caller's encoding
            pass
        except DECODE_ERRORS as exc:
            out.unreadable[i] = (sha, unreadable_because(exc, path))
    if images:
        parts.append(method.prepare_many(images))
    if parts:
        out.part = parts[0] if len(parts) == 1 else method.join(parts)
    return out


def unreadable_because(exc: BaseException, path: str | Path) -> str:
    if isinstance(exc, UnidentifiedImageError):  # Pillow's message names the in-memory buffer, not the file
        return f"cannot read image: UnidentifiedImageError: cannot identify image file {str(path)!r}"
    return f"cannot read image: {type(exc).__name__}: {exc}"


def reading_pool(
    workers: int, processes: bool, cached: frozenset[str], fork: bool = False
) -> contextlib.AbstractContextManager[Executor]:
    """The workers read_new reads on, each knowing the contents whose features are `cached` (worker_pool:
    `fork` to fork processes from this process at once)."""
    return worker_pool(workers, processes, initializer=remember_cached, initargs=(cached,), fork=fork)


class ScanReads:
    """Reading that starts while a scan goes on: the scan offers each folder's new files as it lists
    them; once it has offered PROCESSES_FROM, the worker processes are forked (where fork_is_safe) and
    full batches go to them, workers - 1 at a time, so they read beside the scan on the core it leaves
    instead of waiting for its end (one core's 0.1 s at 10,000 files, 1.1 s at 100,000). read_new
    collects these batches first, then sends the files still waiting.
    Where forking is not safe, the fork server is started early instead (start_workers_early) and
    nothing is read before the scan ends. A context manager: its pool is shut down on leaving."""

    def __init__(
        self,
        method: Method,
        want: Decode,
        workers: int,
        prepare: bool,
        cached: Callable[[], frozenset[str]],
    ) -> None:
        self.method, self.want, self.workers, self.prepare, self.cached = method, want, workers, prepare, cached
        self.pool: Executor | None = None
        self.waiting: list[bytes] = []
        self.next = 0  # the first of `waiting` not sent yet
        self.sent: list[tuple[list[bytes], Future]] = []  # (the batch's paths, its ReadBatch to come)
        self.running: collections.deque[int] = collections.deque()  # which of `sent` may not be done yet
        self.stack = contextlib.ExitStack()
        self.closed = workers < 2  # one worker: read on a thread after the scan, as before

    def offer(self, paths: Sequence[bytes]) -> None:
        if self.closed or not paths:
            return
        self.waiting += paths
        if self.pool is None:
            if len(self.waiting) < PROCESSES_FROM:
                return
            if not fork_is_safe():
                start_workers_early(self.method)
                self.closed = True
                return
            self.pool = self.stack.enter_context(reading_pool(self.workers, True, self.cached(), fork=True))
        # The scan keeps a core: workers - 1 batches at a time while it goes on. Every worker busy beside
        # it made three processes share two cores: the scan of 100,000 files took 3 s, not 1.1 s, and
        # the run 1-1.6 CPU-s more in all, for no gain.
        while self.running and self.sent[self.running[0]][1].done():
            self.running.popleft()
        while len(self.waiting) - self.next >= READ_BATCH and len(self.running) < self.workers - 1:
            chunk = self.waiting[self.next : self.next + READ_BATCH]
            self.next += READ_BATCH
            files = list(enumerate(chunk))
            self.running.append(len(self.sent))
            self.sent.append((chunk, self.pool.submit(read_batch, self.method, files, self.want, self.prepare)))

    def __enter__(self) -> ScanReads:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


def renumbered(done: ReadBatch, where: Sequence[int], method: Method) -> ReadBatch:
    """A batch read early with its own numbering (0..n-1), in the caller's: file k is `where[k]`; a file
    the caller does not read (-1: a symbolic link its scan left out) is dropped, features too."""
    keep = [k for k, i in enumerate(done.prepared) if where[i] >= 0]
    part = done.part
    if len(keep) < len(done.prepared):
        part = method.subset(part, np.asarray(keep, dtype=np.int64)) if keep else None
    return ReadBatch(
        {where[i]: facts for i, facts in done.facts.items() if where[i] >= 0},
        {where[i]: why for i, why in done.unreadable.items() if where[i] >= 0},
        [where[done.prepared[k]] for k in keep],
        part,
    )


def read_new(
    method: Method,
    paths: Sequence[str | bytes | Path],
    want: Decode,
    workers: int,
    cached: frozenset[str],
    prepare: bool,
    tick: Callable[[int], None] = lambda n: None,
    early: ScanReads | None = None,
) -> Iterator[ReadBatch]:
    """Every file's ReadBatch in order, two batches per worker in flight; features only with `prepare`
    (a method that prepares on its workers), and only of contents not in `cached`. Paths as bytes or
    strings cross to the workers as they are (a Path becomes a string: parsed again there otherwise).
    `early`: the ScanReads of the scan that listed `paths` (bytes): its batches, already sent, come first,
    on its pool, which it leaves open; the files it has not sent follow."""
    paths = [p if isinstance(p, (bytes, str)) else str(p) for p in paths]
    started, pool = (early.sent, early.pool) if early is not None and early.pool is not None else ([], None)
    position = {p: i for i, p in enumerate(paths)} if started else {}
    # (the batch's ReadBatch to come, where its files are in `paths` when it was numbered on its own)
    ahead: collections.deque[tuple[Future, list[int] | None]] = collections.deque(
        (future, [position.get(p, -1) for p in chunk]) for chunk, future in started
    )
    sent = {i for _, where in ahead if where is not None for i in where}
    rest = [i for i in range(len(paths)) if i not in sent]
    size = max(BATCH, min(READ_BATCH, -(-len(rest) // (4 * max(workers, 1)))))
    chunks = list(batches(rest, size))
    processes = workers > 1 and len(paths) >= PROCESSES_FROM
    # Two batches per worker in flight: a worker finishing one starts the next at once, not after its
    # result has crossed to this process and the next batch has crossed back.
    flight = 2 * workers
    opened = contextlib.nullcontext(pool) if pool is not None else reading_pool(workers, processes, cached)
    with opened as pool:
        queued = 0

        def submit_next() -> None:
            nonlocal queued
            chunk = chunks[queued]
            ahead.append((pool.submit(read_batch, method, [(i, paths[i]) for i in chunk], want, prepare), None))
            queued += 1

        while queued < min(flight, len(chunks)):
            submit_next()
        while ahead:
            future, where = ahead.popleft()
            done = future.result()
            if queued < len(chunks):
                submit_next()
            if where is not None:
                done = renumbered(done, where, method)
            tick(len(done.facts) + len(done.unreadable))
            yield done
