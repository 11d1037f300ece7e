"""Pixel methods: the article's Euclidean distances (scipy, numpy) and torch cosine similarity."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from scipy.spatial import distance
from torchvision import transforms

from .base import Method
from .registry import register

_to_tensor = transforms.ToTensor()
_cosine = torch.nn.CosineSimilarity(dim=0)


class _PixelArray(Method):
    family = "euclidean"
    direction = "distance"
    symmetric = False  # uint8 a - b wraps differently from b - a: the article's distance is not symmetric

    def prepare(self, image: Image.Image) -> np.ndarray:
        return np.array(image)


@register("euclidean_scipy")
class EuclideanScipy(_PixelArray):
    summary = "scipy distance.euclidean on flattened uint8 pixels (article; wraps around in uint8)"

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


@register("euclidean_scipy_float")
class EuclideanScipyFloat(_FloatPixelArray):
    summary = "scipy distance.euclidean on float64 pixels (the true distance)"

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(distance.euclidean(a.flatten().astype(np.float64), b.flatten().astype(np.float64)))


@register("euclidean_numpy_float")
class EuclideanNumpyFloat(_FloatPixelArray):
    summary = "numpy linalg.norm(a - b) on float64 pixels (the true distance)"

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))


@register("cosine")
class CosinePixels(Method):
    family = "cosine"
    direction = "similarity"
    summary = "torch CosineSimilarity of flattened ToTensor pixels (article)"

    def prepare(self, image: Image.Image) -> torch.Tensor:
        return _to_tensor(image).reshape(1, -1).squeeze()

    def score(self, a: torch.Tensor, b: torch.Tensor) -> float:
        return float(_cosine(a, b))
