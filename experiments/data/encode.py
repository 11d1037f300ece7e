"""Encoding a data set's files for one method at the size it needs, in batches, on every core:
the path of the field benchmark (and of anything that reads full-size photos by the thousand).

Each file is decoded with Pillow's JPEG `draft` (DCT scaling: 1/2, 1/4, 1/8 of the size for almost
nothing) to the smallest size that still gives the method what it declared (`decode_side`), or the
run's resize for a method that takes the image as the article did; decoding runs on a thread pool
(Pillow releases the GIL while it decodes), the method's `prepare_many` on each batch. Methods that
declare a `cache_identity` (networks) keep each image's row in the feature cache, keyed by the
file's sha256 and the decode, so a second run encodes only what it has not seen.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from dupbench.files import atomic_write_bytes
from experiments.data.loader import DEFAULT_MAX_PIXELS, UnreadableImage, _to_rgb
from methods import Method

BATCH = 64


@dataclass(frozen=True)
class Decode:
    """What a method is given: at least `side` on the short side (the method resizes), or exactly
    `size` (the run's fixed resize)."""

    side: int | None = None
    size: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        return f"short{self.side}" if self.side else f"{self.size[0]}x{self.size[1]}"

    @classmethod
    def for_method(cls, method: Method, size: tuple[int, int]) -> Decode:
        return cls(side=method.decode_side) if method.decode_side else cls(size=tuple(size))


def decode(data: bytes, want: Decode, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """RGB at the wanted size from a file's bytes; UnreadableImage when it cannot be used."""
    try:
        previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
        try:
            with Image.open(io.BytesIO(data)) as image:
                low = want.side or min(want.size)  # type: ignore[arg-type]
                image.draft("RGB", (low, low))  # both sides at least `low`: EXIF rotation cannot undercut it
                image.load()
                rgb = _to_rgb(ImageOps.exif_transpose(image))
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"{type(exc).__name__}: {exc}") from None
    if want.size and rgb.size != want.size:
        rgb = rgb.resize(want.size, Image.Resampling.BILINEAR)
    return rgb


def file_digests(paths: Sequence[Path], workers: int) -> list[str]:
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(digest, paths))


def cache_folder(cache_dir: Path | None, method: Method, want: Decode, always: bool = False) -> Path | None:
    """The folder of a method's cached rows; None for a method not worth caching (a hash) unless
    `always` (sharded jobs hand their rows to the merge step through it)."""
    identity = method.cache_identity()
    if identity is None and always:
        identity = {}
    if cache_dir is None or identity is None:
        return None
    # The method's name too: two methods over the same features (cnn_cosine, cnn_euclidean) each
    # encode on their first run, so a fresh run's encode time is each method's own.
    key = json.dumps(
        {**identity, "method": method.name, "code": method.code_version(), "decode": want.label}, sort_keys=True
    )
    return Path(cache_dir) / "encode" / hashlib.sha256(key.encode()).hexdigest()[:20]


def batches(indices: Sequence[int], size: int = BATCH) -> Iterator[Sequence[int]]:
    for start in range(0, len(indices), size):
        yield indices[start : start + size]


class OverBudget(Exception):
    def __init__(self, estimate: float) -> None:
        super().__init__(f"encoding every file would take ~{estimate:.3g} s")
        self.estimate = estimate


def prepared_batches(
    method: Method, paths: Sequence[Path], indices: Sequence[int], want: Decode, workers: int
) -> Iterator[tuple[Sequence[int], Any]]:
    """(batch, its prepare_many) in order. A method that declares `parallel_prepare` decodes and
    prepares whole batches on every worker (a hash: Python and Pillow work, one core each); any other
    (a network, already on every core) prepares on this thread while the workers decode the next batch."""

    def decoded(i: int) -> Image.Image:
        return decode(paths[i].read_bytes(), want)

    chunks = list(batches(indices, BATCH))
    pool = ThreadPoolExecutor(workers)
    try:
        if method.parallel_prepare:
            # `workers` batches in flight: every core busy, and a budget check after the first batch
            # does not wait for a queue behind it.
            ahead = [pool.submit(lambda c: method.prepare_many([decoded(i) for i in c]), c) for c in chunks[:workers]]
            for number, chunk in enumerate(chunks):
                part = ahead[number].result()
                if number + workers < len(chunks):
                    following = chunks[number + workers]
                    ahead.append(pool.submit(lambda c: method.prepare_many([decoded(i) for i in c]), following))
                yield chunk, part
            return
        pending = [pool.submit(decoded, i) for i in chunks[0]] if chunks else []
        for number, chunk in enumerate(chunks):
            images = [future.result() for future in pending]
            pending = [pool.submit(decoded, i) for i in chunks[number + 1]] if number + 1 < len(chunks) else []
            yield chunk, method.prepare_many(images)
    finally:
        # A consumer that stops early (over budget, Ctrl-C) does not wait for the batches queued ahead.
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class Encoded:
    prepared: Any
    cache_hits: int


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
    folder = cache_folder(cache_dir, method, want, always_cache)
    rows: dict[int, np.ndarray] = {}
    if folder is not None:
        rows = {
            i: row
            for i, row in enumerate(cached_rows(method, digests, want, cache_dir, always_cache))
            if row is not None
        }
    missing = [i for i in range(len(paths)) if i not in rows]
    parts: list[Any] = []
    start = time.perf_counter()
    for number, (chunk, part) in enumerate(prepared_batches(method, paths, missing, want, workers)):
        if folder is not None:
            for row, i in zip(part, chunk):
                atomic_write_bytes(folder / f"{digests[i]}.npy", npy_bytes(row))
                rows[i] = row
        else:
            parts.append(part)
        if progress is not None:
            progress.update(len(chunk))
        if number == 0 and budget_s is not None and len(missing) > len(chunk):
            estimate = (time.perf_counter() - start) * len(missing) / len(chunk)
            if estimate > budget_s:
                raise OverBudget(estimate)
    if folder is not None:
        return Encoded(np.stack([rows[i] for i in range(len(paths))]), len(paths) - len(missing))
    return Encoded(method.join(parts), 0)


def cached_rows(
    method: Method, digests: Sequence[str], want: Decode, cache_dir: Path | None, always_cache: bool = False
) -> list[np.ndarray | None]:
    """Each file's cached row, None where there is none."""
    folder = cache_folder(cache_dir, method, want, always_cache)
    if folder is None:
        return [None] * len(digests)
    return [np.load(folder / f"{sha}.npy") if (folder / f"{sha}.npy").is_file() else None for sha in digests]


def npy_bytes(row: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(row))
    return out.getvalue()


def usable(paths: Sequence[Path], workers: int = 2) -> dict[int, str]:
    """Files that cannot be decoded, by index, with the reason: checked once, at the smallest
    decode, before any method runs (a run records them as skips and leaves them out)."""

    def problem(path: Path) -> str:
        try:
            decode(path.read_bytes(), Decode(side=8))
        except (UnreadableImage, OSError) as exc:
            return f"cannot read image {path}: {exc}"
        return ""

    with ThreadPoolExecutor(workers) as pool:
        return {i: reason for i, reason in enumerate(pool.map(problem, paths)) if reason}
