"""Perceptual hashing through imagehash: the article's 64-bit average hash and Hamming distance."""
from __future__ import annotations

import imagehash
from PIL import Image

from .base import Method
from .registry import register


@register("ahash")
class AverageHash(Method):
    family = "hash"
    direction = "distance"
    summary = "imagehash.average_hash (8x8, 64 bits), Hamming distance hash1 - hash2 (article)"

    def prepare(self, image: Image.Image) -> imagehash.ImageHash:
        return imagehash.average_hash(image)

    def score(self, a: imagehash.ImageHash, b: imagehash.ImageHash) -> float:
        return float(a - b)
