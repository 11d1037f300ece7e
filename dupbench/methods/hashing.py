"""Perceptual hashing through imagehash: the article's 64-bit average hash and Hamming distance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from dupbench.methods.base import Method, row_blocks
from dupbench.methods.registry import WITH_METHODS, register
from dupbench.methods.resample import gray, resize_lanczos

try:
    import imagehash
except ImportError:  # not in `pip install dupbench` (it brings scipy, ~120 MB): the methods' needs say so
    imagehash = None


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


class _ImageHash(Method):
    """An imagehash hash compared by Hamming distance (`hash1 - hash2`, the library's own operator).
    The fast engine packs the bits into 64-bit words: XOR and popcount over all pairs."""

    family = "hash"
    direction = "distance"
    index_kind = "hamming"
    library = "imagehash"
    needs = {"imagehash": WITH_METHODS}
    parallel_prepare = True
    licence = "BSD-2-Clause"
    representation = "64 bits"
    score_bits = 64

    def compute(self, image: Image.Image) -> imagehash.ImageHash:
        raise NotImplementedError

    def prepare(self, image: Image.Image) -> imagehash.ImageHash:
        return self.compute(image)

    def score(self, a: imagehash.ImageHash, b: imagehash.ImageHash) -> float:
        return float(a - b)

    def prepare_many(self, images) -> np.ndarray:
        return pack_hashes([self.prepare(image) for image in images])

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        return hamming_all_pairs(A, B)


@register("ahash")
class AverageHash(_ImageHash):
    suite = "article"
    summary = "imagehash.average_hash (8x8, 64 bits), Hamming distance hash1 - hash2 (article)"
    default_threshold = 10.0
    default_threshold_source = "imagededup find_duplicates' max_distance_threshold"

    def compute(self, image: Image.Image) -> imagehash.ImageHash:
        return imagehash.average_hash(image)


@register("phash")
class PerceptualHash(_ImageHash):
    variant = "imagehash"
    summary = "imagehash.phash (DCT of 32x32 grayscale, 8x8 low frequencies vs their median, 64 bits), Hamming"
    decode_side = 32  # imagehash shrinks it to its own grid (32x32 at most): an 80x60 JPEG draft is plenty
    takes_arrays = True  # RGB arrays go straight to the batched grayscale and resize below
    default_threshold = 10.0
    default_threshold_source = "imagededup find_duplicates' max_distance_threshold"

    def compute(self, image: Image.Image) -> imagehash.ImageHash:
        return imagehash.phash(image)

    def prepare_many(self, images) -> np.ndarray:
        """imagehash.phash's arithmetic on a whole batch (the same bits, checked by a test): the 8x8
        low frequencies of scipy's unnormalised DCT-II as two products with an 8x32 cosine matrix,
        which leaves scipy (0.4 s of imports) out of the worker processes. Rounded to 1e-5: where
        scipy's coefficients are exactly 0 (a flat or one-way image) a product's are 1e-10 noise that
        would decide the bits; real photos' coefficients never differ by so little (3,966 checked)."""
        if not images:
            return np.empty((0, 1), dtype=np.uint64)
        low = np.round(_DCT8 @ grays_32(images) @ _DCT8.T, 5).reshape(len(images), -1)
        bits = low > median_64(low)
        return np.packbits(bits, axis=1).view(">u8").astype(np.uint64)


def median_64(rows: np.ndarray) -> np.ndarray:
    """(n, 64) -> (n, 1): np.median's answer (the mean of the 32nd and 33rd smallest, (a + b) / 2 as it
    computes it), without np.median, whose first call imports numpy.ma (7-16 ms in each worker process)."""
    middle = np.partition(rows, (31, 32), axis=1)
    return (middle[:, 31:32] + middle[:, 32:33]) / 2


def grays_32(images: Sequence[Image.Image | np.ndarray]) -> np.ndarray:
    """(n, 32, 32) float64: each image's `convert("L").resize((32, 32), LANCZOS)`, as imagehash.phash
    makes it. RGB images and (height, width, 3) uint8 arrays of one size go through
    dupbench/methods/resample.py together (Pillow's pixels; its coefficients once, not per image);
    any other mode through Pillow itself."""
    out = np.empty((len(images), 32, 32))
    same_size: dict[tuple[int, ...], dict[int, np.ndarray]] = {}
    for k, image in enumerate(images):
        if isinstance(image, np.ndarray) or image.mode == "RGB":
            pixels = np.asarray(image)
            same_size.setdefault(pixels.shape, {})[k] = pixels
        else:
            out[k] = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS))
    for members in same_size.values():
        out[list(members)] = resize_lanczos(gray(np.stack(list(members.values()))), (32, 32))
    return out


# scipy.fft.dct's type II without normalisation, its first 8 outputs of 32: 2 cos(pi k (2n + 1) / 64).
_DCT8 = 2 * np.cos(np.pi * np.arange(8)[:, None] * (2 * np.arange(32)[None, :] + 1) / 64)


@register("dhash")
class DifferenceHash(_ImageHash):
    variant = "imagehash"
    summary = "imagehash.dhash (9x8 grayscale, each pixel vs its right neighbour, 64 bits), Hamming"
    decode_side = 32  # imagehash shrinks it to its own grid (32x32 at most): an 80x60 JPEG draft is plenty
    default_threshold = 10.0
    default_threshold_source = "imagededup find_duplicates' max_distance_threshold"

    def compute(self, image: Image.Image) -> imagehash.ImageHash:
        return imagehash.dhash(image)


@register("whash")
class WaveletHash(_ImageHash):
    variant = "imagehash"
    summary = "imagehash.whash (Haar wavelet of 64x64 grayscale, 8x8 low band vs its median, 64 bits), Hamming"
    decode_side = 256  # whash's wavelet scale comes from the short side (256 for a 640x480 photo)
    default_threshold = 10.0
    default_threshold_source = "imagededup find_duplicates' max_distance_threshold"

    def compute(self, image: Image.Image) -> imagehash.ImageHash:
        return imagehash.whash(image)


@register("colorhash")
class ColourHash(_ImageHash):
    variant = "imagehash"
    representation = "42 bits"
    score_bits = 42
    summary = "imagehash.colorhash (HSV share of black, gray and 6+4 hue bins, 3 bits each: 42 bits), Hamming"
    decode_side = 32  # colorhash counts hue bins over every pixel: an 80x60 JPEG draft keeps their shares

    def compute(self, image: Image.Image) -> imagehash.ImageHash:
        return imagehash.colorhash(image)


@register("crop_resistant_hash")
class CropResistantHash(Method):
    """imagehash.crop_resistant_hash: the image cut into segments, a dhash per segment; two images
    compared by the library's segment matching (`a - b`: segments of `a` without a close match in `b`,
    with a tie-breaker from the matched distances). One-way: a - b is not b - a."""

    family = "hash"
    variant = "imagehash"
    direction = "distance"
    symmetric = False
    library = "imagehash"
    needs = {"imagehash": WITH_METHODS}
    licence = "BSD-2-Clause"
    representation = "a 64-bit dhash per segment (a few to tens)"
    summary = "imagehash.crop_resistant_hash (a dhash per segment), the library's segment matching a - b"
    decode_side = 300  # its segmentation_image_size
    parallel_prepare = True

    def prepare(self, image: Image.Image) -> imagehash.ImageMultiHash:
        return imagehash.crop_resistant_hash(image)

    def score(self, a: imagehash.ImageMultiHash, b: imagehash.ImageMultiHash) -> float:
        return float(a - b)
