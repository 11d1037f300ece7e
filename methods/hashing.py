"""Perceptual hashing through imagehash: the article's 64-bit average hash and Hamming distance."""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

from methods.base import Method, row_blocks
from methods.registry import register


def pack_hashes(hashes: list[imagehash.ImageHash]) -> np.ndarray:
    """(n, words) uint64: each hash's bits packed, 64 to a word."""
    bits = np.stack([np.asarray(h.hash, dtype=bool).reshape(-1) for h in hashes])
    padded = np.pad(bits, ((0, 0), (0, -bits.shape[1] % 64)))
    return np.packbits(padded, axis=1).view(">u8").astype(np.uint64)


def hamming_all_pairs(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Differing bits of every pair: XOR and popcount on whole words, in row blocks."""
    out = np.empty((len(A), len(B)), dtype=np.float64)
    for rows in row_blocks(len(A), B.size * 16):
        out[rows] = np.bitwise_count(A[rows, None, :] ^ B[None, :, :]).sum(axis=-1)
    return out


@register("ahash")
class AverageHash(Method):
    family = "hash"
    direction = "distance"
    summary = "imagehash.average_hash (8x8, 64 bits), Hamming distance hash1 - hash2 (article)"
    index_kind = "hamming"

    def prepare(self, image: Image.Image) -> imagehash.ImageHash:
        return imagehash.average_hash(image)

    def score(self, a: imagehash.ImageHash, b: imagehash.ImageHash) -> float:
        return float(a - b)

    def prepare_many(self, images) -> np.ndarray:
        return pack_hashes([self.prepare(image) for image in images])

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        return hamming_all_pairs(A, B)
