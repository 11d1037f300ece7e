"""The one engine: files in; each file's facts (sha256, size as shown) and one representation per distinct
content out, through the one FeatureCache. `dupbench find`, the field and kinds benchmarks and the sharded
extraction all encode through encode_files, so what the benchmark measures is the read path that ships
(issue 40: the benchmark used to decode through a second pipeline of its own).

Each new file is read once on the workers (reads.py: its sha256, its header and, for a hash, its features);
then every content not cached is decoded and prepared (prepare.py) and stored as each batch finishes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dupbench.engine.prepare import prepared_batches
from dupbench.engine.reads import Facts, ReadBatch, ScanReads, read_new
from dupbench.features import FeatureCache, feature_identity
from dupbench.images.decode import Decode
from dupbench.methods.base import Method

# A stage's progress: (name, how many) -> a context manager whose value has .update(n). The finder's
# shows a bar; the benchmark's checks its time budget.
Stage = Callable[[str, int], AbstractContextManager[Any]]


class _Silent:
    def update(self, n: int = 1) -> None:
        pass


def silent(name: str, total: int) -> AbstractContextManager[Any]:
    return contextlib.nullcontext(_Silent())


def identity_of(method: Method, want: Decode) -> str | None:
    """The cache identity of `method`'s rows decoded as `want`: only a method whose representation is one
    row per image (an index can search it) is kept by content; SSIM's tile sums are not."""
    return feature_identity(method, want.label) if method.index_kind else None


def prepares_on_workers(method: Method, identity: str | None) -> bool:
    """The read's workers prepare the features too (a hash, kept by content), not only the facts."""
    return bool(identity) and method.parallel_prepare


def cached_contents(method: Method, identity: str | None, cache: FeatureCache) -> frozenset[str]:
    """The contents whose features a read's workers need not prepare: for a method that prepares on them,
    the cache's (a whole table's scan: asked only when there are files to read); for any other, none."""
    return cache.contents(identity) if prepares_on_workers(method, identity) else frozenset()


# Each stage's unit, for a progress bar.
UNITS = {"read": "file", "encode": "img"}


@dataclass
class Encoded:
    """Each file's facts, and one representation per distinct content."""

    facts: list[Facts | None]  # by file; None where the file could not be read
    unreadable: dict[int, str]  # file -> why its bytes or header could not be read
    contents: list[str]  # sha256 of each distinct content, in the order of `prepared`'s rows
    prepared: Any
    hits: int  # contents whose features came from the cache
    failed: dict[str, str] = field(default_factory=dict)  # content -> why it could not be decoded (not in contents)

    @property
    def row_of(self) -> list[int]:
        """Each file's row of `prepared`; -1 for a file that could not be read or decoded."""
        row = {sha: i for i, sha in enumerate(self.contents)}
        return [row.get(f.sha256, -1) if f is not None else -1 for f in self.facts]

    def by_file(self, method: Method) -> Any:
        """`prepared` with one row per file, in file order (a byte copy repeats its content's row);
        only when every file was read and decoded."""
        rows = self.row_of
        if -1 in rows:
            raise ValueError("some files could not be read: no row for them")
        return method.subset(self.prepared, np.asarray(rows, dtype=np.int64))


def read_files(
    method: Method,
    want: Decode,
    paths: Sequence[str | bytes | Path],
    cache: FeatureCache,
    workers: int,
    tick: Callable[[int], None],
    made: dict[str, Any],
    early: ScanReads | None = None,
) -> Iterator[ReadBatch]:
    """Every file read once (reads.read_new), batch by batch; features a hash's workers prepared from the
    same read are stored in the cache as each batch is done and added to `made`."""
    identity = identity_of(method, want)
    prepare = prepares_on_workers(method, identity)
    started = early is not None and early.pool is not None
    cached = cached_contents(method, identity, cache) if paths and not started else frozenset()
    for batch in read_new(method, paths, want, workers, cached, prepare, tick, early):
        if batch.prepared:
            rows = [(batch.facts[i].sha256, row) for i, row in zip(batch.prepared, batch.part)]
            cache.put(rows, identity)
            made.update(rows)
        yield batch
    cache.commit()


def encode_contents(
    method: Method,
    want: Decode,
    paths: Sequence[str | Path],
    digests: Sequence[str],
    cache: FeatureCache,
    workers: int,
    stage: Stage = silent,
    made: Mapping[str, Any] | None = None,
) -> tuple[Any, int, dict[int, str]]:
    """The representation of every distinct content (`paths[i]` holds content `digests[i]`; `made`: stored
    this run already; cached rows loaded; the rest encoded in batches, each stored as it finishes); the
    count found in the cache; the contents that could not be decoded, by index (left out of the rows)."""
    identity = identity_of(method, want)
    failed: dict[int, str] = {}

    def batches(missing: list[int]) -> Iterator[tuple[list[int], Any]]:
        yield from prepared_batches(method, paths, missing, want, workers, failed)

    if identity:
        known, hits = rows_through_cache(cache, identity, digests, batches, made, stage)
        kept = [i for i in range(len(digests)) if i not in failed]
        prepared = np.stack([known[digests[i]] for i in kept]) if kept else np.empty((0, 0))
        return prepared, hits, failed
    parts: dict[int, Any] = {}  # not kept by content (SSIM's tile sums): every content encoded, in order
    with stage("encode", len(digests)) as bar:
        for chunk, part in batches(list(range(len(digests)))):
            parts[chunk[0]] = part
            bar.update(len(chunk))
    return (method.join([parts[k] for k in sorted(parts)]) if parts else []), 0, failed


def rows_through_cache(
    cache: FeatureCache,
    identity: str,
    digests: Sequence[str],
    encode: Callable[[list[int]], Iterable[tuple[list[int], Any]]],
    made: Mapping[str, Any] | None = None,
    stage: Stage = silent,
) -> tuple[dict[str, Any], int]:
    """The one look-up, encode, store loop over the cache: each content's row (`made`: stored this run
    already; then the cache's; the rest from `encode(missing indices)`, which yields (indices, rows)
    batches, each stored as it finishes), by digest; and how many came from the cache. A content
    `encode` could not decode is simply absent."""
    made = made or {}
    known = cache.get([d for d in dict.fromkeys(digests) if d not in made], identity)
    hits = len(known)
    known.update(made)
    missing = [i for i, sha in enumerate(digests) if sha not in known]
    with stage("encode", len(missing)) as bar:
        for chunk, part in encode(missing):
            rows = list(part)
            cache.put([(digests[i], row) for i, row in zip(chunk, rows)], identity)
            known.update((digests[i], row) for i, row in zip(chunk, rows))
            bar.update(len(chunk))
    return known, hits


def encode_files(
    method: Method,
    want: Decode,
    paths: Sequence[str | bytes | Path],
    cache: FeatureCache,
    workers: int = 2,
    stage: Stage = silent,
    known: Mapping[int, Facts] | None = None,
    early: ScanReads | None = None,
    on_read: Callable[[dict[int, Facts], dict[int, tuple[str, str]]], None] | None = None,
) -> Encoded:
    """Every file's facts and every distinct content's representation. `known`: facts the caller trusts
    already (the finder's cache of unchanged files): those files are not read, only encoded if their
    content's features are not cached. `early`: the reads a scan started (the finder's ScanReads).
    `on_read(facts, unreadable)`: each read batch, by file index, as it is done (the finder remembers the
    files' facts while the workers read on)."""
    known = known or {}
    facts: list[Facts | None] = [known.get(i) for i in range(len(paths))]
    fresh = [i for i, f in enumerate(facts) if f is None]
    unreadable: dict[int, str] = {}
    made: dict[str, Any] = {}
    with stage("read", len(fresh)) as bar:
        for batch in read_files(method, want, [paths[i] for i in fresh], cache, workers, bar.update, made, early):
            got = {fresh[k]: f for k, f in batch.facts.items()}
            bad = {fresh[k]: why for k, why in batch.unreadable.items()}
            for i, f in got.items():
                facts[i] = f
            unreadable.update((i, why) for i, (_, why) in bad.items())
            if on_read is not None:
                on_read(got, bad)
    first: dict[str, int] = {}  # one file per distinct content: byte copies are never encoded twice
    for i, f in enumerate(facts):
        if f is not None:
            first.setdefault(f.sha256, i)
    contents = list(first)
    names = [os.fsdecode(paths[i]) if isinstance(paths[i], bytes) else paths[i] for i in first.values()]
    prepared, hits, failed = encode_contents(method, want, names, contents, cache, workers, stage, made)
    gone = {contents[i]: why for i, why in failed.items()}
    return Encoded(facts, unreadable, [sha for sha in contents if sha not in gone], prepared, hits, gone)
