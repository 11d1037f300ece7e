"""The benchmark's encoding of a data set's files for one method (the field, shards): dupbench's own
decode path (dupbench/images/decode.py) and feature cache (dupbench/features.py), with a time budget
checked after the first batch. Methods that declare a `cache_identity` (networks) keep each image's
row in the feature cache, keyed by the file's sha256 and the decode, so a second run encodes only
what it has not seen."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dupbench.features import FeatureCache, feature_identity
from dupbench.images.decode import Decode, file_digests, prepared_batches, usable
from dupbench.methods import Method

__all__ = ["Decode", "Encoded", "OverBudget", "cached_rows", "encode", "file_digests", "usable"]


class OverBudget(Exception):
    def __init__(self, estimate: float) -> None:
        super().__init__(f"encoding every file would take ~{estimate:.3g} s")
        self.estimate = estimate


@dataclass
class Encoded:
    prepared: Any
    cache_hits: int


def cached(method: Method, cache_dir: Path | None, always: bool) -> bool:
    """Whether a method's rows go through the cache: networks (a `cache_identity`), and when `always`
    (sharded jobs hand their rows to the merge step through it) any method whose representation is one
    array per image (one an index can search; SSIM's tile sums or a list of segment hashes are not)."""
    if cache_dir is None:
        return False
    return method.cache_identity() is not None or (always and method.index_kind is not None)


def encode(
    method: Method,
    paths: Sequence[Path],
    digests: Sequence[str],
    want: Decode,
    cache_dir: Path | None = None,
    workers: int = 2,
    progress: Any = None,
    budget_s: float | None = None,
    always_cache: bool = False,
) -> Encoded:
    """method.prepare_many of every file, decoded as `want` says, in file order. With `budget_s`:
    OverBudget after the first batch when the rest would not fit in it (extrapolated)."""
    store = FeatureCache(cache_dir) if cached(method, cache_dir, always_cache) else None
    identity = feature_identity(method, want.label)
    try:
        known = store.get(digests, identity) if store else {}
        rows = {i: known[sha] for i, sha in enumerate(digests) if sha in known}
        missing = [i for i in range(len(paths)) if i not in rows]
        parts: list[Any] = []
        if progress is not None:
            progress.update(len(rows))
        start = time.perf_counter()
        for number, (chunk, part) in enumerate(prepared_batches(method, paths, missing, want, workers)):
            if store:
                store.put([(digests[i], row) for i, row in zip(chunk, part)], identity)
                rows.update(zip(chunk, part))
            else:
                parts.append(part)
            if progress is not None:
                progress.update(len(chunk))
            if number == 0 and budget_s is not None and len(missing) > len(chunk):
                estimate = (time.perf_counter() - start) * len(missing) / len(chunk)
                if estimate > budget_s:
                    raise OverBudget(estimate)
    finally:
        if store:
            store.close()
    if store:
        return Encoded(np.stack([rows[i] for i in range(len(paths))]), len(paths) - len(missing))
    return Encoded(method.join(parts), 0)


def cached_rows(
    method: Method, digests: Sequence[str], want: Decode, cache_dir: Path | None, always_cache: bool = False
) -> list[np.ndarray | None]:
    """Each file's cached row, None where there is none."""
    if not cached(method, cache_dir, always_cache):
        return [None] * len(digests)
    with FeatureCache(cache_dir) as store:
        known = store.get(digests, feature_identity(method, want.label))
    return [known.get(sha) for sha in digests]
