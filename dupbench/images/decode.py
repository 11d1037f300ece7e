"""Decoding files for one method at the size it needs, in batches, on every core: the path of the
finder and of the benchmark's field (anything that reads full-size photos by the thousand).

Each file is decoded with Pillow's JPEG `draft` (DCT scaling: 1/2, 1/4, 1/8 of the size for almost
nothing) to the smallest size that still gives the method what it declared (`decode_side`), or the
run's fixed size for a method that takes the image as the article did; decoding runs on a thread
pool (Pillow releases the GIL while it decodes), the method's `prepare_many` on each batch; a hash
(Python work per image) decodes and hashes on a pool of processes when the folder is large.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from dupbench.errors import DupbenchError, UnreadableImage
from dupbench.images import fastjpeg
from dupbench.images.heap import keep_freed_memory
from dupbench.images.read import DEFAULT_MAX_PIXELS, LARGE_FILE, read_bytes, to_rgb

# Images decoded per batch; two batches are in memory at once (one prepared, the next decoding).
# 32 photos at the networks' 288 px are ~10 MiB: 64 cost `dupbench find` ~90 MiB more at its peak.
BATCH = 32
# The size given to a method that takes the image as the article did (pixels, SSIM, the faithful CNN,
# the average hash) when it reads full-size photos: the finder's and the field benchmark's.
FIXED_SIZE = (80, 60)


@dataclass(frozen=True)
class Decode:
    """What a method is given: at least `side` on the short side (the method resizes), or exactly
    `size` (a fixed resize)."""

    side: int | None = None
    size: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        return f"short{self.side}" if self.side else f"{self.size[0]}x{self.size[1]}"

    @classmethod
    def for_method(cls, method: Any, size: tuple[int, int] = FIXED_SIZE) -> Decode:
        """`method`: a dupbench Method (its declared `decode_side`); not imported: images sit below methods."""
        return cls(side=method.decode_side) if method.decode_side else cls(size=tuple(size))

    @classmethod
    def from_label(cls, label: str) -> Decode:
        if label.startswith("short"):
            return cls(side=int(label[5:]))
        width, _, height = label.partition("x")
        return cls(size=(int(width), int(height)))


# The warning too: raised where warnings are errors (read_rgb's catch_warnings in another thread can leave
# that filter set process-wide), it is an image not read, not an internal error ending the run.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning)

# Memory on one file (issue 38: a 12000x12000 PNG of 140 KB took 2.7-3.7 GiB). A file over LARGE_FILE
# (read.py) is opened from its path, never read whole.
# An image whose decoding holds more pixels than this (after a JPEG's DCT scaling: a sequential JPEG
# streams, a progressive one holds its whole image) is decoded one at a time per process (_one_large) and
# reduced as soon as it is loaded; below it, as before (its copies: 2 x 4 bytes a pixel, 64 MiB).
# 2**23: a 4K frame (3840x2160, 8.3 MP) stays on the common path.
LARGE_PIXELS = 1 << 23
# An image that would hold more pixels than this is not decoded: skipped with the reason. Pillow holds a
# decoded image at up to 4 bytes a pixel (5 for a palette image converted), a progressive JPEG's
# coefficients 2-6: at 32 MP one such decode is <= 160 MiB, one at a time, beside a run's ~210 MiB and
# the other workers' ordinary images: `dupbench find` stays within ~400 MiB whatever the files. Pillow's
# own bomb limit (89 MP, an error only past 179 MP) let one 144 MP PNG cost 2.7 GiB.
MAX_PIXELS = 32_000_000
MAX_PIXELS_VARIABLE = "DUPBENCH_MAX_PIXELS"  # the environment variable that raises (or lowers) it


def max_pixels_held() -> int:
    """MAX_PIXELS, or the DUPBENCH_MAX_PIXELS environment variable where set (read at each large image:
    a worker process sees what its parent was started with)."""
    text = os.environ.get(MAX_PIXELS_VARIABLE, "").strip().replace("_", "").replace(",", "")
    if not text:
        return MAX_PIXELS
    if not text.isdigit() or int(text) == 0:
        raise DupbenchError(f"{MAX_PIXELS_VARIABLE}={os.environ[MAX_PIXELS_VARIABLE]!r}: not a whole number of pixels")
    return int(text)


def decode_file(path: str | Path, want: Decode, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """decode() of a file: its bytes read whole up to LARGE_FILE, a larger file opened from its path."""
    data = read_bytes(path, LARGE_FILE)
    return decode(data if data is not None else Path(path), want, max_pixels)


def decode(data: bytes | Path, want: Decode, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """RGB at the wanted size from a file's bytes (or a large file's path: decode_file); UnreadableImage
    when it cannot be used."""
    try:
        previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
        try:
            if isinstance(data, Path):
                with Image.open(data) as image:
                    return decode_opened(image, want)
            head = fastjpeg.header(data)
            if head is not None and (fast := decode_jpeg(data, head, want)) is not None:
                return fast
            with Image.open(io.BytesIO(data)) as image:
                return decode_opened(image, want)
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    except DECODE_ERRORS as exc:
        raise UnreadableImage(f"{type(exc).__name__}: {exc}") from None


def decode_jpeg(
    data: bytes, head: fastjpeg.JpegHeader, want: Decode, arrays: bool = False
) -> Image.Image | np.ndarray | None:
    """decode() of a plain JPEG in C (dupbench/images/fastjpeg.py: Pillow's pixels); None: Pillow's way.
    `arrays`: for a method that takes them (Method.takes_arrays), its pixels as an array where no resize
    is wanted."""
    if head.progressive and head.width * head.height > LARGE_PIXELS:  # Pillow's way: limited, one at a time
        return None
    if arrays and not want.size:
        return fastjpeg.rgb_array(data, head, want.side)  # type: ignore[arg-type]
    rgb = fastjpeg.rgb(data, head, want.side or min(want.size))  # type: ignore[arg-type]
    if rgb is not None and want.size and rgb.size != want.size:
        rgb = rgb.resize(want.size, Image.Resampling.BILINEAR)
    return rgb


def decode_opened(image: Image.Image, want: Decode) -> Image.Image:
    """decode() of an image whose header is read (Pillow's open checked its pixel count). One that would
    hold more than the pixel limit is refused (UnreadableImage naming the limit); one over LARGE_PIXELS is
    decoded one at a time and reduced at once (decode_large)."""
    try:
        low = want.side or min(want.size)  # type: ignore[arg-type]
        whole = image.size  # a progressive JPEG holds this many pixels whatever its draft
        image.draft("RGB", (low, low))  # both sides at least `low`: EXIF rotation cannot undercut it
        held = whole if image.format in ("JPEG", "MPO") and image.info.get("progressive") else image.size
        if held[0] * held[1] > LARGE_PIXELS:
            rgb = decode_large(image, low, held)
        else:
            image.load()
            # In place: with no orientation exif_transpose would copy the whole image for nothing.
            ImageOps.exif_transpose(image, in_place=True)
            rgb = to_rgb(image)
    except DECODE_ERRORS as exc:
        raise UnreadableImage(f"{type(exc).__name__}: {exc}") from None
    if want.size and rgb.size != want.size:
        rgb = rgb.resize(want.size, Image.Resampling.BILINEAR)
    return rgb


# One large image decoded at a time in a process (its threads); a worker process is given its pool's
# shared lock (worker_pool), so the pool's workers take turns too.
_one_large: Any = threading.Lock()


def decode_large(image: Image.Image, low: int, held: tuple[int, int]) -> Image.Image:
    """RGB of an image over LARGE_PIXELS: refused over the pixel limit, else loaded (alone: _one_large) and
    reduced by whole factors (box averages) while both sides stay >= `low`, before its EXIF turn and
    to_rgb, which then copy a small image, not the whole one (the method resizes it anyway, as it does
    a JPEG's draft)."""
    limit = max_pixels_held()
    if held[0] * held[1] > limit:
        kind = "progressive JPEG" if image.format in ("JPEG", "MPO") else image.format or "image"
        raise UnreadableImage(
            f"{held[0]}x{held[1]} pixels ({held[0] * held[1]:,}), over dupbench's limit of {limit:,} for a "
            f"{kind}, which is decoded whole (~4 bytes a pixel); set {MAX_PIXELS_VARIABLE}=N to raise it"
        )
    with _one_large:
        orientation = image.getexif().get(EXIF_ORIENTATION, 1)  # read before the reduced copy loses it
        image.load()
        small = reduced(image, low)
        if orientation in fastjpeg.TRANSPOSE:
            small = small.transpose(fastjpeg.TRANSPOSE[orientation])
        return to_rgb(small)


EXIF_ORIENTATION = 0x0112


def reduced(image: Image.Image, low: int) -> Image.Image:
    """`image` reduced by the largest whole factor that keeps both sides >= `low` (Image.reduce: box
    averages; alpha premultiplied). Modes whose values are not averageable are converted first as to_rgb
    would: a palette to RGB(A), 1-bit to L, 16-bit to L scaled from 65535 (to_rgb's own rule)."""
    factor = min(image.size) // max(low, 1)
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode in ("P", "PA"):
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")
        small = image.reduce(factor) if factor > 1 else image
        pixels = np.asarray(small, dtype=np.float64) * (255.0 / 65535.0)
        return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "L")
    elif image.mode not in REDUCIBLE:
        image = image.convert("RGB")
    return image.reduce(factor) if factor > 1 else image.copy()


REDUCIBLE = frozenset({"L", "LA", "La", "RGB", "RGBA", "RGBa", "I", "F", "CMYK"})


def file_digests(paths: Sequence[Path], workers: int) -> list[str]:
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(digest, paths))


def batches(indices: Sequence[int], size: int = BATCH) -> Iterator[Sequence[int]]:
    for start in range(0, len(indices), size):
        yield indices[start : start + size]


# A hash's work per image is Python and Pillow under the GIL: threads do not add a core, processes
# do. Below this many images a process pool's start-up (~0.5 s) costs more than it saves.
PROCESSES_FROM = 2000


def fork_is_safe() -> bool:
    """Worker processes may be forked from this process: on Linux (on macOS a forked child may crash in
    system libraries) with no other Python thread alive (a lock another thread held at the fork would
    stay held in the child for ever). Native threads (OpenBLAS's) are the libraries' own to handle."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


@contextlib.contextmanager
def worker_pool(
    workers: int,
    processes: bool,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    fork: bool = False,
) -> Iterator[Executor]:
    """Processes or threads; a consumer that stops early (over budget, Ctrl-C) does not wait for the
    batches queued ahead. Processes come from the fork server (no copy of a parent holding a model),
    or, with `fork` where fork_is_safe, are forked from this process at once: they start with its
    modules loaded. For the finder, which holds no model while it scans: no fork server to start and
    import into (~0.2 CPU-s beside the scan), and workers ready as the scan ends, not ~0.08 s after."""
    if processes:
        context = "fork" if fork and fork_is_safe() else "forkserver"
        mp_context = multiprocessing.get_context(context)
        pool: Executor = ProcessPoolExecutor(
            workers,
            mp_context=mp_context,
            initializer=_start_worker,
            initargs=(initializer, initargs, mp_context.Lock()),
        )
        if context == "fork":
            pool.submit(int)  # a fork context's pool forks all its workers at its first task: now
    else:
        pool = ThreadPoolExecutor(workers, initializer=initializer, initargs=initargs)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple, one_large: Any = None) -> None:
    """A worker process's start: freed memory kept (dupbench/images/heap.py), the pool's lock for large
    images (decode_large: its workers decode one at a time), then the caller's own."""
    global _one_large
    keep_freed_memory()
    if one_large is not None:
        _one_large = one_large
    if initializer is not None:
        initializer(*initargs)


def usable(paths: Sequence[Path], workers: int = 2) -> dict[int, str]:
    """Files that cannot be decoded, by index, with the reason: checked once, at the smallest
    decode, before any method runs (a run records them as skips and leaves them out)."""

    def problem(path: Path) -> str:
        try:
            decode_file(path, Decode(side=8))
        except (UnreadableImage, OSError) as exc:
            return f"cannot read image {path}: {exc}"
        return ""

    with ThreadPoolExecutor(workers) as pool:
        return {i: reason for i, reason in enumerate(pool.map(problem, paths)) if reason}
