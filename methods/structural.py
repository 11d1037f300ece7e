"""SSIM (Wang et al. 2004) through SSIM-PIL, as the article called it."""
from __future__ import annotations

from PIL import Image
from SSIM_PIL import compare_ssim

from .base import Method
from .registry import register


@register("ssim")
class Ssim(Method):
    family = "ssim"
    direction = "similarity"
    min_side = 7  # SSIM-PIL's tile_size: smaller images raise inside it
    summary = "SSIM_PIL.compare_ssim(img1, img2, GPU=False) on equal-size RGB images (article)"

    def prepare(self, image: Image.Image) -> Image.Image:
        return image

    def score(self, a: Image.Image, b: Image.Image) -> float:
        return float(compare_ssim(a, b, GPU=False))
