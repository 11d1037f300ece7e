"""Pillow's grayscale and LANCZOS resize of 8-bit images, for a whole stack of same-size images at once,
to the very pixels Pillow gives (tests/test_resample.py holds them equal on hundreds of sizes).

Pillow resamples in two passes (horizontal, vertical), each a sum of pixels times fixed-point
coefficients (22 fraction bits) rounded and clipped to 8 bits. It computes those coefficients (two
sines per tap) for every call: for pHash's 80x60 -> 32x32, per image, more time than the arithmetic.
Here they are computed once per (size in, size out) and each pass is one matrix product over the
stack: the products are sums of integers below 2**53, exact in float64 whatever the order. Grayscale
is Pillow's rgb2l: (19595 R + 38470 G + 7471 B + 2**15) >> 16, exact in float32 (sums below 2**24).
pHash's 32x32 of a batch of 80x60 photos: 65 us an image through Pillow, 18 us here.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import PIL

PRECISION_BITS = 22  # Pillow's fixed point for 8-bit resampling (32 - 8 - 2)
LUMA = np.array([19595, 38470, 7471], dtype=np.float32)
# Pillow 13 resizes vertically first where that pass removes much more than the horizontal one
# (PR 9549); earlier releases always went horizontally first.
VERTICAL_FIRST_RULE = int(PIL.__version__.split(".")[0]) >= 13


def gray(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB -> (...) Pillow's convert("L"), as float64 (the resampling's input)."""
    weighted = rgb.astype(np.float32) @ LUMA + np.float32(1 << 15)
    return (weighted.astype(np.int32) >> 16).astype(np.float64)


def _lanczos(x: float) -> float:
    """Pillow's LANCZOS filter (a = 3), the same operations in the same order."""

    def sinc(v: float) -> float:
        if v == 0.0:
            return 1.0
        v = v * math.pi
        return math.sin(v) / v

    return sinc(x) * sinc(x / 3) if -3.0 <= x < 3.0 else 0.0


@functools.lru_cache(maxsize=256)
def coefficients(size_in: int, size_out: int) -> np.ndarray:
    """(size_in, size_out): column j holds output pixel j's fixed-point weights of the input pixels
    (Pillow's precompute_coeffs and normalize_coeffs_8bpc), zero outside its window."""
    scale = size_in / size_out
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    matrix = np.zeros((size_in, size_out))
    one = 1 << PRECISION_BITS
    for out in range(size_out):
        center = (out + 0.5) * scale
        first = max(int(center - support + 0.5), 0)  # int(): C's truncation toward zero
        end = min(int(center + support + 0.5), size_in)
        weights = [_lanczos((x + first - center + 0.5) / filterscale) for x in range(end - first)]
        total = 0.0
        for w in weights:  # summed in order, as Pillow does
            total += w
        if total != 0.0:
            weights = [w / total for w in weights]
        matrix[first:end, out] = [int(-0.5 + w * one) if w < 0 else int(0.5 + w * one) for w in weights]
    return matrix


def _clip8(sums: np.ndarray) -> np.ndarray:
    """Pillow's clip8 of each pass's fixed-point sums (rounded at half, clipped to 0..255)."""
    return np.clip(np.floor((sums + (1 << (PRECISION_BITS - 1))) / (1 << PRECISION_BITS)), 0, 255)


def resize_lanczos(grays: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(n, height, width) 8-bit values (float64) -> (n, size[1], size[0]) as Pillow's
    `Image.resize(size, Image.Resampling.LANCZOS)` of each image, still float64."""
    _, height, width = grays.shape
    new_width, new_height = size

    def horizontal(stack: np.ndarray) -> np.ndarray:
        return _clip8(stack @ coefficients(width, new_width)) if width != new_width else stack

    def vertical(stack: np.ndarray) -> np.ndarray:
        return _clip8(np.matmul(coefficients(height, new_height).T, stack)) if height != new_height else stack

    if VERTICAL_FIRST_RULE and height - new_height > 2 * max(width - new_width, 0):
        return horizontal(vertical(grays))
    return vertical(horizontal(grays))
