"""dupbench/methods/pdq_batch.py: PDQ's bits for a batch as matrix products, equal to pdqhash's."""

from __future__ import annotations

import numpy as np
import pdqhash
import pytest
from PIL import Image

from dupbench.methods import pdq_batch
from dupbench.methods.pdq import pack_bits
from dupbench.methods.registry import create_method
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT

EMBEDDED = REPO_ROOT / "data" / "embedded"
# JPEG drafts of photos (160x120), PDQ's own 64x64 (no filter at all), one side 64, smaller than 64
# (decimation repeats pixels), tall and wide strips, PDQ's smallest (5), large (windows of 8 and 6).
SIZES = [(160, 120), (120, 160), (64, 64), (64, 100), (65, 63), (40, 30), (7, 300), (300, 7), (5, 5), (1000, 750)]


def reference(rgb: np.ndarray) -> np.ndarray:
    return pdqhash.compute(rgb)[0].astype(np.uint8)


def photos() -> list[Image.Image]:
    ensure_embedded(EMBEDDED)
    return [Image.open(p).convert("RGB") for p in sorted(EMBEDDED.rglob("*.png"))[:6]]


def box_port(values: np.ndarray, window: int) -> np.ndarray:
    """PDQ's box1DFloat line by line (its four phases), in float64."""
    half = (window + 2) // 2
    out, total, size, left, right, at = np.empty(len(values)), 0.0, 0, 0, 0, 0
    for _ in range(half - 1):  # the first sum, nothing written
        total += values[right]
        size, right = size + 1, right + 1
    for _ in range(window - half + 1):  # writes with a growing window
        total += values[right]
        size, right = size + 1, right + 1
        out[at], at = total / size, at + 1
    for _ in range(len(values) - window):  # the full window slides
        total += values[right] - values[left]
        left, right = left + 1, right + 1
        out[at], at = total / size, at + 1
    for _ in range(half - 1):  # writes with a shrinking window
        total -= values[left]
        size, left = size - 1, left + 1
        out[at], at = total / size, at + 1
    return out


@pytest.mark.parametrize("n,window", [(1, 1), (5, 1), (10, 2), (16, 7), (16, 8), (200, 2), (300, 3), (1000, 8)])
def test_the_box_operator_is_pdqs_box_filter(n, window):
    values = np.random.default_rng(n).uniform(0, 255, n)
    assert np.allclose(pdq_batch.box_after(np.eye(n), n, window) @ values, box_port(values, window), atol=1e-9)


def test_the_jarosz_window_is_pdqs():
    # computeJaroszFilterWindowSize: (old + 2 * 64 - 1) / (2 * 64) in integers
    assert [pdq_batch.jarosz_window(n) for n in (5, 64, 128, 129, 160, 1024, 4000)] == [1, 1, 1, 2, 2, 8, 32]


def test_a_batch_of_mixed_sizes_gets_pdqhashs_bits_for_every_image():
    rng = np.random.default_rng(0)
    images = [np.asarray(photo.resize(size)) for photo in photos() for size in SIZES]
    images += [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for w, h in SIZES]  # noise: every frequency
    got = pdq_batch.bits_many(images, reference)
    for image, bits in zip(images, got):
        assert np.array_equal(bits, reference(image)), image.shape


def test_only_images_too_close_to_their_median_or_too_small_go_to_pdqhash():
    calls: list[np.ndarray] = []

    def counted(rgb: np.ndarray) -> np.ndarray:
        calls.append(rgb)
        return reference(rgb)

    flat = np.full((120, 160, 3), 128, dtype=np.uint8)  # every coefficient 0: no median to stand apart from
    tiny = np.zeros((4, 30, 3), dtype=np.uint8)  # under PDQ's 5 pixels: 256 zeros
    textured = [np.asarray(photo.resize((160, 120))) for photo in photos()]
    bits = pdq_batch.bits_many([flat, tiny, *textured], counted)
    assert any(rgb is flat for rgb in calls) and any(rgb is tiny for rgb in calls)
    assert len(calls) < 2 + len(textured) // 2  # most photos stand well apart from their median
    assert not bits[1].any() and np.array_equal(bits[0], reference(flat))


def test_the_methods_batch_is_its_per_image_prepare():
    method = create_method("pdq")
    images = [photo.resize(size) for photo in photos()[:3] for size in SIZES[:4]]
    arrays = [np.asarray(image) for image in images]
    per_image = pack_bits(np.stack([method.prepare(image) for image in images]))
    assert np.array_equal(method.prepare_many(images), per_image)
    assert np.array_equal(method.prepare_many(arrays), per_image)
    assert method.prepare_many([]).shape == (0, 4)
