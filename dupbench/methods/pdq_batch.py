"""PDQ's 256 bits for a whole batch of same-size images as two matrix products, falling back to pdqhash
for any image whose bits the products cannot vouch for (tests/test_pdq_batch.py holds them equal).

Everything PDQ does before its median is linear in the luma: two box-filter passes along each axis
(Jarosz's tent), a decimation to 64x64 that picks pixels, and a 16x64 DCT on each side. So the 16x16
coefficients of an h x w luma are `left(h) @ luma @ left(w).T`, with left(n) = DCT @ (the decimation's
64 rows of box @ box), 16 x n, made once per side length. pdqhash runs the same arithmetic in float32:
running sums along whole rows and columns, then two 64-term sums, one image at a time, with its luma
in numpy first. On 160x120 images that is ~190 us an image; here ~30 us (batches of 32).

The two results differ by float32 rounding: at most 0.0024 between these coefficients and pdqhash's
own (pdqhash.compute_float) on 2,400 photos, and 0.002 on photos and noise from 64x64 to 4000x3000. A
bit is whether a coefficient is above the median (the 128th smallest), so the bits can differ only
where the 128th and 129th coefficients lie that close: an image whose gap is under MARGIN (8 times
the largest difference seen) is hashed by pdqhash itself, 7 % of the 160x120 crops of bench-find and
4 % of ukbench800's photos. A bound that holds for every input would have to allow for every rounding
error adding up with the same sign (~2 at 160x120, which would send nearly every photo to pdqhash), so
this one is measured, not proven, like pHash's rounding in hashing.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

MIN_SIDE = 5  # PDQ's MIN_HASHABLE_DIM: a smaller image hashes to 256 zeros
MARGIN = 0.02
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _dct_rows() -> np.ndarray:
    """PDQ's 16 x 64 DCT matrix: float32 entries, sqrt(2 / 64) cos(pi / 128 (i + 1) (2 j + 1))."""
    i, j = np.arange(16)[:, None], np.arange(64)[None, :]
    scale = np.float32(np.sqrt(2.0 / 64))
    return (np.float64(scale) * np.cos((np.pi / 2.0 / 64) * (i + 1) * (2 * j + 1))).astype(np.float32)


DCT = _dct_rows().astype(np.float64)


def box_windows(n: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """PDQ's box1DFloat along n samples: output i is the mean of inputs lo[i]..hi[i] (its window of
    `window` samples, clipped at both ends, the 'phases' of the C++)."""
    half = (window + 2) // 2
    i = np.arange(n)
    return np.maximum(0, i - (window - half)), np.minimum(n - 1, i + half - 1)


def box_after(rows: np.ndarray, n: int, window: int) -> np.ndarray:
    """rows @ box(n, window) without the n x n matrix: column j sums rows[:, i] / count(i) over the
    outputs i whose window holds j (a contiguous run of i, since both window ends only grow)."""
    lo, hi = box_windows(n, window)
    weighted = rows / (hi - lo + 1)
    prefix = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(weighted, axis=1)], axis=1)
    j = np.arange(n)
    first = np.searchsorted(hi, j, side="left")  # the first output whose window reaches j
    last = np.searchsorted(lo, j, side="right") - 1  # the last output whose window starts at or before j
    return prefix[:, last + 1] - prefix[:, first]


def jarosz_window(n: int) -> int:
    """computeJaroszFilterWindowSize(n, 64): half a 64th of the side, rounded up."""
    return (n + 2 * 64 - 1) // (2 * 64)


@functools.lru_cache(maxsize=256)
def left(n: int) -> np.ndarray:
    """16 x n: DCT @ decimation @ box @ box along a side of n samples (decimateFloat picks sample
    int((k + 0.5) n / 64) for output k, in C's double arithmetic and truncation), made in float64 and
    kept in float32 for coefficients()."""
    picks = ((np.arange(64) + 0.5) * n / 64).astype(np.int64)
    rows = np.zeros((64, n))
    rows[np.arange(64), picks] = 1.0
    window = jarosz_window(n)
    return (DCT @ box_after(box_after(rows, n, window), n, window)).astype(np.float32)


def coefficients(stack: np.ndarray) -> np.ndarray:
    """(m, h, w, 3) uint8 RGB of one size -> (m, 16, 16): PDQ's DCT output before the median. In float32
    (BLAS's sums, half the time of float64's): their difference from pdqhash's coefficients is the
    same as float64's (at most 0.0024 on 2,400 photos), the C++'s own rounding being the larger."""
    _, h, w, _ = stack.shape
    return left(h) @ (stack.astype(np.float32) @ LUMA) @ left(w).T


def bits_many(pixels: Sequence[np.ndarray], reference: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """(n, 256) uint8 bits in pdqhash's order (its vector is the C++ hash's bit 255 first); images
    under MIN_SIDE or within MARGIN of their median get `reference`'s (pdqhash on one image)."""
    out = np.empty((len(pixels), 256), dtype=np.uint8)
    same_size: dict[tuple[int, ...], list[int]] = {}
    for k, image in enumerate(pixels):
        same_size.setdefault(image.shape, []).append(k)
    fallback: list[int] = []
    for shape, members in same_size.items():
        if min(shape[:2]) < MIN_SIDE:
            fallback += members
            continue
        flat = coefficients(np.stack([pixels[k] for k in members])).reshape(len(members), 256)
        middle = np.partition(flat, (127, 128), axis=1)
        median = middle[:, 127:128]
        out[members] = (flat > median)[:, ::-1]
        fallback += [k for k, gap in zip(members, middle[:, 128] - middle[:, 127]) if gap < MARGIN]
    for k in fallback:
        out[k] = reference(pixels[k])
    return out
