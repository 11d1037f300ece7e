"""SSIM (Wang et al. 2004) through SSIM-PIL, as the article called it, and its exact batched form.

SSIM-PIL (compare_ssim, CPU): the image is cut into non-overlapping 7x7 tiles (right and bottom
remainders dropped); per tile and channel, with n = 49 pixels, means mu, variances var (population),
and covariance cov,
    s = (2 mu0 mu1 + c1)(2 cov + c2) / ((mu0^2 + mu1^2 + c1)(var0 + var1 + c2)),
c1 = (0.01 * 255)^2, c2 = (0.03 * 255)^2; the score is the mean of s over tiles and channels.
The batched form computes the same formula: per image once, each tile's sums and sums of squares;
per pair only the tile-wise dot products, as one batched matrix product over all tiles. All sums are
of integers, exact in float64, so it equals SSIM-PIL to float rounding (tested: 1e-12).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from SSIM_PIL import compare_ssim

from dupbench.methods.base import Method, row_blocks
from dupbench.methods.registry import register

TILE = 7
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def tiles_of(image: Image.Image) -> np.ndarray:
    """(tiles * channels, 49) float64: each 7x7 tile of each channel, as SSIM-PIL reads them."""
    pixels = np.asarray(image, dtype=np.float64)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    h, w = h // TILE * TILE, w // TILE * TILE
    blocks = pixels[:h, :w].reshape(h // TILE, TILE, w // TILE, TILE, c)
    return blocks.transpose(0, 2, 4, 1, 3).reshape(-1, TILE * TILE)


@register("ssim")
class Ssim(Method):
    suite = "article"
    family = "ssim"
    engine_tolerance = 1e-10  # the same formula in float64, summed in another order
    library = "SSIM-PIL"
    licence = "MIT"
    representation = "the RGB image itself (SSIM compares two images, 7x7 tiles per channel)"
    direction = "similarity"
    min_side = 7  # SSIM-PIL's tile_size: smaller images raise inside it
    summary = "SSIM_PIL.compare_ssim(img1, img2, GPU=False) on equal-size RGB images (article)"

    def prepare(self, image: Image.Image) -> Image.Image:
        return image

    def score(self, a: Image.Image, b: Image.Image) -> float:
        return float(compare_ssim(a, b, GPU=False))

    def prepare_many(self, images) -> dict[str, np.ndarray]:
        tiles = np.stack([tiles_of(image) for image in images], axis=1)  # (tiles*channels, n, 49)
        n = TILE * TILE
        sums = tiles.sum(axis=2)
        means = sums / n
        variances = (tiles**2).sum(axis=2) / n - means**2
        return {"tiles": tiles, "sums": sums, "means": means, "variances": variances}

    def count(self, prepared: dict) -> int:
        return prepared["tiles"].shape[1]

    def join(self, parts) -> dict:
        return {key: np.concatenate([part[key] for part in parts], axis=1) for key in parts[0]}

    def subset(self, prepared: dict, rows: slice) -> dict:
        return {key: value[:, rows] for key, value in prepared.items()}

    def score_matrix(self, A: dict, B: dict, same: bool = False) -> np.ndarray:
        n, count = TILE * TILE, A["tiles"].shape[0]
        out = np.empty((A["tiles"].shape[1], B["tiles"].shape[1]), dtype=np.float64)
        for rows in row_blocks(out.shape[0], count * out.shape[1] * 8 * 4, budget=128 << 20):
            dots = np.matmul(A["tiles"][:, rows], B["tiles"].transpose(0, 2, 1))  # (tiles, rows, m)
            mu0, mu1 = A["means"][:, rows, None], B["means"][:, None, :]
            cov = (dots - A["sums"][:, rows, None] * B["sums"][:, None, :] / n) / n
            var = A["variances"][:, rows, None] + B["variances"][:, None, :]
            s = (2 * mu0 * mu1 + C1) * (2 * cov + C2) / ((mu0**2 + mu1**2 + C1) * (var + C2))
            out[rows] = s.mean(axis=0)
        return out
