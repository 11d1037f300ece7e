"""Image to tensor, two ways that give the same bits.

`article_to_tensor` is torchvision's ToTensor, as the article called it; torchvision is imported on
first use because its import costs ~1.5 s, more than the whole fast engine needs on Fruits-360.
torch itself is imported on first use too: a run that only reads its kept rows needs none of it.
`batch_to_tensor` does the same arithmetic (uint8 HWC -> float32 CHW / 255) on a stack of images.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch


@functools.cache
def _to_tensor():
    from torchvision import transforms

    return transforms.ToTensor()


def load_torchvision() -> None:
    """Do the import before any timing of the article's calls (the article imported at the top)."""
    _to_tensor()


def article_to_tensor(image: Image.Image) -> torch.Tensor:
    return _to_tensor()(image)


def batch_to_tensor(images: Sequence[Image.Image]) -> torch.Tensor:
    import torch

    pixels = torch.from_numpy(np.stack([np.asarray(image, dtype=np.uint8) for image in images]))
    return pixels.permute(0, 3, 1, 2).contiguous().to(dtype=torch.float32).div(255)
