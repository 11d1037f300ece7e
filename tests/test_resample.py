"""dupbench/methods/resample.py: Pillow's grayscale and LANCZOS resize of a stack of images, to Pillow's
own pixels (pHash's bits depend on every one of them)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dupbench.methods import resample
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT

EMBEDDED = REPO_ROOT / "data" / "embedded"
# Wide, tall (Pillow 13 resizes those vertically first), square, smaller than the target (upscaled),
# equal to it in one or both sides, and one pixel.
SIZES = [(80, 60), (60, 80), (40, 30), (32, 32), (32, 90), (90, 32), (31, 17), (500, 375), (33, 300), (300, 33)]
SIZES += [(7, 300), (100, 10), (1, 1), (250, 249), (64, 64)]


def photos() -> list[np.ndarray]:
    ensure_embedded(EMBEDDED)
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(EMBEDDED.rglob("*.png"))[:8]]


def test_grayscale_is_pillows():
    rng = np.random.default_rng(0)
    every_value = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for rgb in [every_value, *photos()]:
        expected = np.asarray(Image.fromarray(rgb).convert("L"))
        assert np.array_equal(resample.gray(rgb[None])[0], expected)


@pytest.mark.parametrize(
    "size", SIZES + [tuple(int(v) for v in np.random.default_rng(s).integers(1, 400, 2)) for s in range(20)]
)
def test_a_stack_resized_to_32x32_is_pillows_lanczos_of_each_image(size):
    rng = np.random.default_rng(size)
    sources = photos()
    images = [Image.fromarray(sources[k]).resize(size, Image.Resampling.BILINEAR) for k in range(3)]
    images.append(Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)))  # sharp edges
    stack = resample.gray(np.stack([np.asarray(im) for im in images]))
    ours = resample.resize_lanczos(stack, (32, 32))
    for image, got in zip(images, ours):
        expected = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS))
        assert np.array_equal(got, expected), size


def test_the_pass_order_matters_and_follows_pillows_rule():
    """A tall image's two orders differ somewhere: the rule that picks one is what the tests above hold."""
    rng = np.random.default_rng(1)
    stack = resample.gray(rng.integers(0, 256, (20, 300, 33, 3), dtype=np.uint8))
    vertical_first = resample._clip8(
        resample._clip8(np.matmul(resample.coefficients(300, 32).T, stack)) @ resample.coefficients(33, 32)
    )
    horizontal_first = resample._clip8(
        np.matmul(resample.coefficients(300, 32).T, resample._clip8(stack @ resample.coefficients(33, 32)))
    )
    assert not np.array_equal(vertical_first, horizontal_first)
    # Pillow 13 goes vertically first here (300 rows to 32 removes far more than 33 columns to 32).
    expected = vertical_first if resample.VERTICAL_FIRST_RULE else horizontal_first
    assert np.array_equal(resample.resize_lanczos(stack, (32, 32)), expected)
    pillows = [
        np.asarray(Image.fromarray(g.astype(np.uint8)).resize((32, 32), Image.Resampling.LANCZOS)) for g in stack
    ]
    assert np.array_equal(expected, np.stack(pillows))
    # A wide image of the same sizes goes horizontally first, in every release.
    wide = stack.transpose(0, 2, 1)
    assert np.array_equal(resample.resize_lanczos(wide, (32, 32)), vertical_first.transpose(0, 2, 1))
