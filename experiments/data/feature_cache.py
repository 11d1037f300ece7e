"""On-disk cache of per-image representations for methods that declare `cache_identity()` (the CNN).

One .npy per image under <cache_dir>/<identity hash>/, named by the sha256 of the image file and
the size it was resized to: a rerun on the same files, backbone, weights and resize loads the
features instead of running the network; anything else changed is a different key.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dupbench.files import atomic_write_bytes
from methods import Method


def identity_dir(cache_dir: Path, method: Method) -> Path | None:
    identity = method.cache_identity()
    if cache_dir is None or identity is None:
        return None
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    return Path(cache_dir) / digest


def image_key(file_sha256: str, image: Image.Image) -> str:
    return f"{file_sha256}-{image.size[0]}x{image.size[1]}"


def prepare_cached(
    method: Method, pictures: Sequence[Image.Image], file_sha256s: Sequence[str], cache_dir: Path | None
) -> tuple[Any, int]:
    """method.prepare_many(pictures), with cached rows loaded and new rows saved; and the hit count."""
    folder = identity_dir(cache_dir, method)
    if folder is None or not pictures:
        return method.prepare_many(pictures), 0
    paths = [folder / f"{image_key(sha, picture)}.npy" for sha, picture in zip(file_sha256s, pictures)]
    cached = {i: np.load(p) for i, p in enumerate(paths) if p.is_file()}
    missing = [i for i in range(len(pictures)) if i not in cached]
    if missing:
        fresh = method.prepare_many([pictures[i] for i in missing])
        for row, i in zip(fresh, missing):
            atomic_write_bytes(paths[i], npy_bytes(row))
            cached[i] = row
    return np.stack([cached[i] for i in range(len(pictures))]), len(pictures) - len(missing)


def npy_bytes(row: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(row))
    return out.getvalue()
