"""PDQ, Meta's perceptual hash (the `pdqhash` bindings of its reference C++ code): 256 bits from a DCT
of the luminance, compared by Hamming distance. PDQ's own threshold for a match is a distance of
at most 31 bits."""

from __future__ import annotations

import numpy as np
import pdqhash
from PIL import Image

from dupbench.methods.base import Method, row_blocks
from dupbench.methods.hashing import hamming_all_pairs
from dupbench.methods.pdq_batch import bits_many
from dupbench.methods.registry import register


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(..., 256) of 0/1 -> (..., 4) uint64 words, for XOR and popcount."""
    return np.packbits(bits.astype(np.uint8), axis=-1).view(">u8").astype(np.uint64)


class _Pdq(Method):
    family = "pdq"
    variant = "pdqhash"
    direction = "distance"
    library = "pdqhash"
    licence = "MIT (bindings; Meta's PDQ reference code BSD-3-Clause)"
    representation = "256 bits"
    score_bits = 256
    parallel_prepare = True
    decode_side = 64  # PDQ filters the image down to 64x64 itself: a JPEG draft with both sides >= 64 suffices
    takes_arrays = True  # pdqhash reads an array: np.asarray below leaves one as it is
    default_threshold = 31.0
    default_threshold_source = "PDQ's own match threshold"


@register("pdq")
class Pdq(_Pdq):
    summary = (
        "pdqhash.compute (PDQ, 256 bits; a batch as matrix products, pdqhash's bits), Hamming distance; "
        "PDQ calls a match at <= 31 bits"
    )
    index_kind = "hamming"

    def prepare(self, image: Image.Image) -> np.ndarray:
        bits, _quality = pdqhash.compute(np.asarray(image, dtype=np.uint8))
        return bits.astype(np.uint8)

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.count_nonzero(a != b))

    def prepare_many(self, images) -> np.ndarray:
        """prepare's bits for a whole batch through dupbench/methods/pdq_batch.py (two matrix products
        per size; pdqhash itself for the images too close to their median to vouch for)."""
        if not len(images):
            return np.empty((0, 4), dtype=np.uint64)
        pixels = [np.asarray(image, dtype=np.uint8) for image in images]
        return pack_bits(bits_many(pixels, lambda rgb: pdqhash.compute(rgb)[0]))

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        return hamming_all_pairs(A, B)


@register("pdq_dihedral")
class PdqDihedral(_Pdq):
    """PDQ that ignores rotations by 90 degrees and mirror images: pdqhash returns the hashes of the
    image's 8 dihedral transforms; a pair's distance is the smallest between any of the first image's
    8 and the second image's own hash."""

    summary = "pdqhash.compute_dihedral: min Hamming distance over the first image's 8 rotations/flips"
    symmetric = False
    representation = "8 x 256 bits"

    def prepare(self, image: Image.Image) -> np.ndarray:
        hashes, _quality = pdqhash.compute_dihedral(np.asarray(image, dtype=np.uint8))
        return np.stack(hashes).astype(np.uint8)  # (8, 256); row 0 is the image as it is

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.count_nonzero(a != b[0], axis=1).min())

    def prepare_many(self, images) -> np.ndarray:
        return pack_bits(np.stack([self.prepare(image) for image in images]))  # (n, 8, 4)

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        out = np.full((len(A), len(B)), np.inf)
        for rows in row_blocks(len(A), B.size * 8 * 16):
            for k in range(A.shape[1]):  # each of the 8 transforms against every plain hash
                distances = np.bitwise_count(A[rows, None, k, :] ^ B[None, :, 0, :]).sum(axis=-1)
                out[rows] = np.minimum(out[rows], distances)
        return out
