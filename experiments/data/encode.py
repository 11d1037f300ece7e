"""The benchmark's encoding of a data set's files for one method (the field, kinds, shards): the engine
`dupbench find` ships (dupbench.engine.encode_files) and its feature cache, with a time budget checked
after each stage's first batch. Methods that declare a `cache_identity` (networks) keep each image's
row in the feature cache, keyed by the file's sha256 and the decode, so a second run encodes only
what it has not seen."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dupbench import engine
from dupbench.errors import DupbenchError
from dupbench.features import FeatureCache
from dupbench.images.decode import Decode, file_digests, usable
from dupbench.methods import Method
from dupbench.progress import Progress

__all__ = ["Decode", "Encoded", "OverBudget", "cached_rows", "encode", "file_digests", "usable"]


class OverBudget(Exception):
    def __init__(self, estimate: float) -> None:
        super().__init__(f"encoding every file would take ~{estimate:.3g} s")
        self.estimate = estimate


@dataclass
class Encoded:
    prepared: Any
    cache_hits: int  # distinct contents whose rows came from the cache


def cached(method: Method, cache_dir: Path | None, always: bool) -> bool:
    """Whether a method's rows go through the cache: networks (a `cache_identity`), and when `always`
    (sharded jobs hand their rows to the merge step through it) any method whose representation is one
    array per image (one an index can search; SSIM's tile sums or a list of segment hashes are not)."""
    if cache_dir is None:
        return False
    return method.cache_identity() is not None or (always and method.index_kind is not None)


class Budgeted:
    """A stage's progress (the engine's Stage) that raises OverBudget after its first batch when the
    stage's whole work would not fit in `budget_s` (extrapolated), and forwards to a progress bar."""

    def __init__(self, label: str | None, stage: str, total: int, budget_s: float | None) -> None:
        self.total, self.budget_s, self.done = total, budget_s, 0
        self.bar = Progress(f"{label} ({stage})", total, engine.UNITS.get(stage, "")) if label else None
        self.start = time.perf_counter()

    def __enter__(self) -> Budgeted:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, n: int = 1) -> None:
        first = self.done == 0
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if first and n and self.budget_s is not None and self.done < self.total:
            estimate = (time.perf_counter() - self.start) * self.total / self.done
            if estimate > self.budget_s:
                raise OverBudget(estimate)


@contextlib.contextmanager
def store_for(method: Method, cache_dir: Path | None, always: bool) -> Iterator[FeatureCache]:
    """The cache the engine encodes through: the data set's (cached()), or a throwaway one, removed after,
    so a method the benchmark does not keep is encoded anew each run, as a person's first run is."""
    if cached(method, cache_dir, always):
        with FeatureCache(cache_dir) as store:
            yield store
        return
    with tempfile.TemporaryDirectory(prefix="dupbench-bench-") as folder, FeatureCache(Path(folder)) as store:
        yield store


def encode(
    method: Method,
    paths: Sequence[Path],
    digests: Sequence[str],
    want: Decode,
    cache_dir: Path | None = None,
    workers: int = 2,
    label: str | None = None,
    budget_s: float | None = None,
    always_cache: bool = False,
) -> Encoded:
    """method's representation of every file, in file order, through the engine `dupbench find` encodes
    with (dupbench.engine.encode_files: the same reads, decodes, batches and cache). `digests`: the
    files' sha256 as the data set was checked; a file changed since is one clear error. With `budget_s`:
    OverBudget after a stage's first batch when that stage would not fit in it (extrapolated).
    `label`: a progress bar per stage, named by it."""

    def stage(name: str, total: int) -> Budgeted:
        return Budgeted(label, name, total, budget_s)

    with store_for(method, cache_dir, always_cache) as store:
        done = engine.encode_files(method, want, paths, store, workers, stage)
    problems = [f"{paths[i]}: {why}" for i, why in done.unreadable.items()] + list(done.failed.values())
    changed = [paths[i] for i, f in enumerate(done.facts) if f is not None and f.sha256 != digests[i]]
    if problems or changed:
        first = problems[0] if problems else f"{changed[0]}: changed since the data set was checked"
        raise DupbenchError(
            f"{len(problems) + len(changed)} file(s) could not be encoded as checked; the first: {first}"
        )
    return Encoded(done.by_file(method), done.hits)


def cached_rows(
    method: Method, digests: Sequence[str], want: Decode, cache_dir: Path | None, always_cache: bool = False
) -> list[np.ndarray | None]:
    """Each file's cached row, None where there is none."""
    identity = engine.identity_of(method, want)  # the key the engine stored the rows under
    if not cached(method, cache_dir, always_cache) or identity is None:
        return [None] * len(digests)
    with FeatureCache(cache_dir) as store:
        known = store.get(digests, identity)
    return [known.get(sha) for sha in digests]
