"""Experiments 1 and 2 on the fast engine: per-image representations of already decoded and resized
images through dupbench's one feature cache (dupbench/features.py), for methods that declare
`cache_identity()` (the CNN); the decode part of the key is the size the image was resized to."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dupbench.features import FeatureCache, feature_identity
from dupbench.methods import Method


def prepare_cached(
    method: Method, pictures: Sequence[Image.Image], file_sha256s: Sequence[str], cache_dir: Path | None
) -> tuple[Any, int]:
    """method.prepare_many(pictures), with cached rows loaded and new rows saved; and the hit count."""
    if cache_dir is None or method.cache_identity() is None or not pictures:
        return method.prepare_many(pictures), 0
    identities = [feature_identity(method, f"{p.size[0]}x{p.size[1]}") for p in pictures]
    cached: dict[int, np.ndarray] = {}
    with FeatureCache(cache_dir) as store:
        for identity in dict.fromkeys(identities):
            picked = [i for i, ident in enumerate(identities) if ident == identity]
            known = store.get([file_sha256s[i] for i in picked], identity)
            cached.update({i: known[file_sha256s[i]] for i in picked if file_sha256s[i] in known})
        missing = [i for i in range(len(pictures)) if i not in cached]
        if missing:
            fresh = method.prepare_many([pictures[i] for i in missing])
            for i, row in zip(missing, fresh):
                store.put([(file_sha256s[i], row)], identities[i])
                cached[i] = row
    return np.stack([cached[i] for i in range(len(pictures))]), len(pictures) - len(missing)
