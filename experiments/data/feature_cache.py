"""Experiments 1 and 2 on the fast engine: per-image representations of already decoded and resized
images through dupbench's one feature cache (dupbench/features.py), for methods that declare
`cache_identity()` (the CNN); the decode part of the key is the size the image was resized to."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dupbench.engine import rows_through_cache
from dupbench.features import FeatureCache, feature_identity
from dupbench.methods import Method


def prepare_cached(
    method: Method, pictures: Sequence[Image.Image], file_sha256s: Sequence[str], cache_dir: Path | None
) -> tuple[Any, int]:
    """method.prepare_many(pictures), with cached rows loaded and new rows saved through the engine's one
    cache loop (rows_through_cache); and the hit count."""
    if cache_dir is None or method.cache_identity() is None or not pictures:
        return method.prepare_many(pictures), 0
    identities = [feature_identity(method, f"{p.size[0]}x{p.size[1]}") for p in pictures]
    rows: dict[int, np.ndarray] = {}
    encoded = 0  # pictures not found in the cache (a repeated file counts each time, as a hit does)
    with FeatureCache(cache_dir) as store:
        for identity in dict.fromkeys(identities):
            picked = [i for i, ident in enumerate(identities) if ident == identity]

            def encode(missing: list[int], picked: list[int] = picked) -> Iterator[tuple[list[int], Any]]:
                nonlocal encoded
                encoded += len(missing)
                if missing:
                    yield missing, method.prepare_many([pictures[picked[k]] for k in missing])

            known, _ = rows_through_cache(store, identity, [file_sha256s[i] for i in picked], encode)
            rows.update((i, known[file_sha256s[i]]) for i in picked)
    return np.stack([rows[i] for i in range(len(pictures))]), len(pictures) - encoded
