"""Shared fixtures: small real photos from scikit-image, and tiny synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image


def photo(name: str, size: tuple[int, int] = (96, 96)) -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB").resize(size)


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    return photo("astronaut")


@pytest.fixture(scope="session")
def coffee() -> Image.Image:
    return photo("coffee")


@pytest.fixture(scope="session")
def astronaut_nudged(astronaut: Image.Image) -> Image.Image:
    """A near-duplicate: rotated by 2 degrees and a little brighter."""
    arr = np.asarray(astronaut.rotate(2, resample=Image.Resampling.BICUBIC), dtype=np.int16) + 8
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
