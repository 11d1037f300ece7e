"""Pixel methods: the article's Euclidean distances (scipy, numpy) and torch cosine similarity."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from dupbench.methods.base import Method, row_blocks
from dupbench.methods.gram import cosine_all_pairs, euclidean_all_pairs
from dupbench.methods.registry import WITH_METHODS, WITH_TORCH, register
from dupbench.methods.tensors import article_to_tensor

if TYPE_CHECKING:
    import torch


@functools.cache
def _cosine():  # torch on first use: the fast engine and kept rows need none of it
    import torch

    return torch.nn.CosineSimilarity(dim=0)


class _ScipyDistance:
    """scipy.spatial.distance, imported when a method is loaded (~0.6 s; a run that keeps every row
    never pays it). load() puts the real module in its place, so the article's timed call is
    `distance.euclidean(...)` on scipy's own module, as the article made it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(load_scipy_distance(), name)


def load_scipy_distance() -> Any:
    global distance
    from scipy.spatial import distance as module

    distance = module
    return module


distance: Any = _ScipyDistance()


def pixel_rows(images) -> np.ndarray:
    """(n, h*w*3) uint8: each image's pixels as one row (all images the same size)."""
    return np.stack([np.asarray(image, dtype=np.uint8).reshape(-1) for image in images])


class _PixelArray(Method):
    suite = "article"
    family = "euclidean"
    library = "numpy"
    licence = "BSD-3-Clause"
    representation = "the h x w x 3 uint8 pixels"
    direction = "distance"
    symmetric = False  # uint8 a - b wraps differently from b - a: the article's distance is not symmetric

    def prepare(self, image: Image.Image) -> np.ndarray:
        return np.array(image)

    def prepare_many(self, images) -> np.ndarray:
        return pixel_rows(images)

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        """The article's wrapped uint8 distance for every ordered pair, exactly: a - b in uint8 as the
        article's calls do, squares summed as integers. No matrix-product form exists for a wrapped
        difference, so this stays one pass over the bytes of each pair (memory-bound)."""
        out = np.empty((len(A), len(B)), dtype=np.float64)
        for rows in row_blocks(len(A), B.size * 3, budget=64 << 20):
            wrapped = A[rows, None, :] - B[None, :, :]
            squares = np.square(wrapped, dtype=np.uint16).sum(axis=-1, dtype=np.uint64)
            out[rows] = np.sqrt(squares.astype(np.float64))
        return out


@register("euclidean_scipy")
class EuclideanScipy(_PixelArray):
    library = "scipy"
    needs = {"scipy": WITH_METHODS}
    summary = "scipy distance.euclidean on flattened uint8 pixels (article; wraps around in uint8)"

    def load(self) -> None:
        load_scipy_distance()

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(distance.euclidean(a.flatten(), b.flatten()))


@register("euclidean_numpy")
class EuclideanNumpy(_PixelArray):
    summary = "numpy linalg.norm(a - b) on uint8 pixels (article; wraps around in uint8)"

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b))


class _FloatPixelArray(_PixelArray):
    """Ours, not the article's: the same calls on float64 pixels, which measure the true distance."""

    variant = "float"
    symmetric = True
    index_kind = "l2"

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        """True distances of all pairs from norms and one float64 Gram matrix (BLAS)."""
        return euclidean_all_pairs(A, B)  # A, B: uint8 rows from prepare_many, so exact


@register("euclidean_scipy_float")
class EuclideanScipyFloat(_FloatPixelArray):
    library = "scipy"
    needs = {"scipy": WITH_METHODS}
    representation = "the h x w x 3 pixels as float64"
    summary = "scipy distance.euclidean on float64 pixels (the true distance)"

    def load(self) -> None:
        load_scipy_distance()

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(distance.euclidean(a.flatten().astype(np.float64), b.flatten().astype(np.float64)))


@register("euclidean_numpy_float")
class EuclideanNumpyFloat(_FloatPixelArray):
    representation = "the h x w x 3 pixels as float64"
    summary = "numpy linalg.norm(a - b) on float64 pixels (the true distance)"

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))


@register("cosine")
class CosinePixels(Method):
    suite = "article"
    family = "cosine"
    engine_tolerance = 1e-5  # a float32 Gram matrix
    library = "torch"
    needs = {"torch": WITH_TORCH, "torchvision": WITH_TORCH}  # load(): the article's call
    licence = "BSD-3-Clause"
    representation = "ToTensor pixels, h x w x 3 float32"
    direction = "similarity"
    summary = "torch CosineSimilarity of flattened ToTensor pixels (article)"
    index_kind = "cosine"
    # Its scores are float32 sums over 14,400 pixels, in the order the CPU's SIMD kernels choose: on an
    # AVX-512 machine the field's pair AP on ukbench800 moved 5e-7 (pair AUC 2e-8) from the baseline made
    # on another, with the same code. Not the same to the last bit on any machine, so not deterministic.
    deterministic = False

    def load(self) -> None:
        _cosine()  # torchvision: the article engine loads it (the batched path needs none)

    def prepare(self, image: Image.Image) -> torch.Tensor:
        return article_to_tensor(image).reshape(1, -1).squeeze()

    def score(self, a: torch.Tensor, b: torch.Tensor) -> float:
        return float(_cosine()(a, b))

    def prepare_many(self, images) -> np.ndarray:
        # ToTensor's scaling (x / 255) does not change a cosine: the raw bytes as float32 suffice.
        return pixel_rows(images).astype(np.float32)

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        return cosine_all_pairs(A, B)
