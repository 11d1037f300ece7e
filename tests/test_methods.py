"""Each method: identical images score best, tiny pairs give hand-computed values, direction is right."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dupbench.methods import DupbenchError, create_method, method_class, method_names
from dupbench.methods.base import Method
from dupbench.methods.hashing import pack_hashes
from experiments.paths import REPO_ROOT

# The article's five methods as it named its calls (the spec this suite replicates).
ARTICLE = ["euclidean_scipy", "euclidean_numpy", "ssim", "ahash", "cosine", "cnn_euclidean", "cnn_cosine"]
# The article suite's methods without a network (cheap to run on several photos here).
PIXEL_AND_HASH = [n for n in method_names() if method_class(n).suite == "article" and method_class(n).family != "cnn"]


def better(method: Method, x: float, y: float) -> bool:
    return x < y if method.direction == "distance" else x > y


def test_registry_has_every_article_method_and_the_float_variants():
    names = method_names()
    assert set(ARTICLE) <= set(names)
    assert {"euclidean_scipy_float", "euclidean_numpy_float"} <= set(names)
    assert all(create_method(n).variant == "article" for n in ARTICLE)


def test_python_m_methods_prints_the_names(capsys):
    from dupbench.methods.__main__ import main

    main([])
    assert capsys.readouterr().out.split() == method_names()


def test_unknown_method_lists_the_valid_names():
    with pytest.raises(DupbenchError, match="unknown method 'nope'.*euclidean_scipy.*cnn_cosine"):
        create_method("nope")


@pytest.mark.parametrize("name", PIXEL_AND_HASH)
def test_identical_beats_near_duplicate_beats_unrelated(name, astronaut, astronaut_nudged, coffee):
    method = create_method(name)
    ref = method.prepare(astronaut)
    same = method.score(ref, method.prepare(astronaut.copy()))
    near = method.score(ref, method.prepare(astronaut_nudged))
    far = method.score(ref, method.prepare(coffee))
    assert better(method, same, near) or same == near
    if name.startswith("euclidean_") and not name.endswith("_float"):
        return  # the wrapped uint8 distance does not order these (see test_faithful_euclidean_wraps)
    assert better(method, near, far)


@pytest.mark.parametrize(
    "name,identical",
    [("euclidean_scipy", 0.0), ("euclidean_numpy_float", 0.0), ("cosine", 1.0), ("ssim", 1.0), ("ahash", 0.0)],
)
def test_identical_images_give_the_ideal_score(name, identical, astronaut):
    method = create_method(name)
    # float32 cosine of a vector with itself is 1 only to float32 rounding
    assert method.score(method.prepare(astronaut), method.prepare(astronaut)) == pytest.approx(identical, abs=1e-5)


def _pixels(*values: int) -> Image.Image:
    """A 1-pixel-high grayscale-as-RGB image: each value a pixel with R = G = B."""
    return Image.fromarray(np.repeat(np.array([values], dtype=np.uint8)[..., None], 3, axis=2))


@pytest.mark.parametrize("name", ["euclidean_scipy", "euclidean_numpy"])
def test_faithful_euclidean_wraps_around_in_uint8(name):
    method = create_method(name)
    a, b = method.prepare(_pixels(10, 200)), method.prepare(_pixels(20, 100))
    # uint8: 10 - 20 = 246, 200 - 100 = 100, on each of 3 channels
    assert method.score(a, b) == pytest.approx(np.sqrt(3 * (246**2 + 100**2)))
    # ... and b - a wraps the other way: 20 - 10 = 10, 100 - 200 = 156. Not symmetric.
    assert method.score(b, a) == pytest.approx(np.sqrt(3 * (10**2 + 156**2)))
    assert not method.symmetric


@pytest.mark.parametrize("name", ["euclidean_scipy_float", "euclidean_numpy_float"])
def test_float_euclidean_is_the_true_distance(name):
    method = create_method(name)
    a, b = method.prepare(_pixels(10, 200)), method.prepare(_pixels(20, 100))
    assert method.score(a, b) == pytest.approx(np.sqrt(3 * (10**2 + 100**2)), rel=1e-12)
    assert method.score(a, b) == pytest.approx(method.score(b, a))


def test_cosine_by_hand():
    method = create_method("cosine")
    a, b = _pixels(255, 0), _pixels(255, 255)  # ToTensor: (1, 0) and (1, 1) per channel
    assert method.score(method.prepare(a), method.prepare(b)) == pytest.approx(1 / np.sqrt(2), rel=1e-6)
    assert method.direction == "similarity"


def test_ahash_hamming_by_hand():
    method = create_method("ahash")
    left = np.zeros((64, 64, 3), dtype=np.uint8)
    left[:, :32] = 255
    # Left half bright: 32 of 64 bits set; its mirror image sets the other 32.
    a = method.prepare(Image.fromarray(left))
    b = method.prepare(Image.fromarray(left[:, ::-1].copy()))
    assert method.score(a, b) == 64
    assert method.score(a, a) == 0
    assert method.direction == "distance"


def test_ssim_is_symmetric_and_below_one_for_a_change(astronaut, astronaut_nudged):
    method = create_method("ssim")
    a, b = method.prepare(astronaut), method.prepare(astronaut_nudged)
    assert method.score(a, b) == pytest.approx(method.score(b, a))
    assert 0 < method.score(a, b) < 1


@pytest.mark.parametrize("name", PIXEL_AND_HASH)
def test_score_matrix_matches_pair_scores(name, astronaut, astronaut_nudged, coffee):
    """The batched path (prepare_many + score_matrix) against one prepare/score call per pair."""
    method = create_method(name)
    images = [astronaut, astronaut_nudged, coffee]
    matrix = method.score_matrix(method.prepare_many(images), method.prepare_many(images), same=True)
    reps = [method.prepare(image) for image in images]
    expected = np.array([[method.score(a, b) for b in reps] for a in reps])
    # Off the diagonal to 1e-6 relative (float Gram); a self-distance of 0 to 1e-3 absolute.
    np.testing.assert_allclose(matrix, expected, rtol=1e-6, atol=1e-3)


def test_the_batched_phash_gives_imagehashs_bits():
    """PerceptualHash.prepare_many computes imagehash.phash's arithmetic for a whole batch."""
    rng = np.random.default_rng(3)
    images = [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(30, 40), (64, 64), (7, 90)]
    ]
    images += [Image.open(p).convert("RGB") for p in sorted((REPO_ROOT / "data" / "embedded").rglob("*.png"))[:12]]
    # Flat and one-way images: scipy's DCT gives exact zeros there, where a product's noise would decide bits.
    ramp = np.tile(np.arange(0, 240, 6, dtype=np.uint8), (30, 1))
    images += [Image.new("RGB", (40, 30), (v, v, v)) for v in (0, 17, 255)]
    images += [Image.fromarray(np.stack([r] * 3, axis=-1)) for r in (ramp, ramp.T.copy())]
    method = create_method("phash")
    expected = pack_hashes([method.compute(image) for image in images])
    assert np.array_equal(method.prepare_many(images), expected)
    assert method.prepare_many([]).shape[0] == 0


def test_phash_takes_np_medians_median_without_np_median():
    """median_64 (np.median pulls in numpy.ma, in every worker process) is np.median's answer to the
    last bit: ties, repeated middles, large and tiny values, rounded as prepare_many rounds them."""
    from dupbench.methods.hashing import median_64

    rng = np.random.default_rng(11)
    for scale in (1e-3, 1.0, 1e4):
        rows = np.round(rng.normal(size=(200, 64)) * scale, 5)
        rows[::3, :40] = rows[::3, :1]  # the two middles equal
        rows[1::3, 30:34] = rows[1::3, 30:31]
        assert np.array_equal(median_64(rows), np.median(rows, axis=1, keepdims=True))


def test_the_batched_phash_of_arrays_gives_imagehashs_bits():
    """pHash takes a JPEG's pixels as arrays (Method.takes_arrays), mixed with images of other sizes
    and modes in one batch: the bits are imagehash.phash's of each as an image."""
    rng = np.random.default_rng(5)
    arrays = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(60, 80), (60, 80), (80, 60), (300, 33)]]
    images = [Image.open(p).convert("RGB") for p in sorted((REPO_ROOT / "data" / "embedded").rglob("*.png"))[:4]]
    arrays += [np.asarray(im.resize((80, 60))) for im in images]
    batch = [*arrays, images[0], images[1].convert("L"), images[2].convert("RGBA")]
    method = create_method("phash")
    assert method.takes_arrays
    as_images = [Image.fromarray(a) for a in arrays] + batch[len(arrays) :]
    expected = pack_hashes([method.compute(image) for image in as_images])
    assert np.array_equal(method.prepare_many(batch), expected)
