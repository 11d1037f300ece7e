"""The field's methods beside the article's (issue 14): each its library's own call, a direction that
holds on real photos, the declared metadata, and hand-checkable cases."""

from __future__ import annotations

import imagehash
import numpy as np
import pdqhash
import pytest
from PIL import Image

from dupbench.methods import create_method, method_class, method_names

FIELD = [n for n in method_names() if method_class(n).suite == "field"]


def better(method, x: float, y: float) -> bool:
    return x < y if method.direction == "distance" else x > y


def test_the_field_suite_has_the_hashes_descriptors_and_the_corrected_cnn():
    expected = {
        "phash",
        "dhash",
        "whash",
        "colorhash",
        "crop_resistant_hash",
        "pdq",
        "pdq_dihedral",
        "sscd",
        "sscd_distilled",
        "cnn_pooled_cosine",
    }
    assert expected <= set(FIELD)
    assert all(method_class(n).variant != "article" for n in FIELD)  # ours, named beside the faithful ones


@pytest.mark.parametrize("name", FIELD)
def test_every_field_method_declares_library_licence_and_representation(name):
    cls = method_class(name)
    assert cls.library and cls.licence and cls.representation and cls.summary


@pytest.mark.parametrize("name", FIELD)
def test_identical_beats_near_duplicate_beats_unrelated(name, astronaut, astronaut_nudged, coffee):
    method = create_method(name)
    ref = method.prepare(astronaut)
    same, near, far = (method.score(ref, method.prepare(x)) for x in (astronaut, astronaut_nudged, coffee))
    assert not better(method, near, same), (same, near)  # nothing beats the image itself
    assert better(method, near, far), (near, far)


@pytest.mark.parametrize("name", ["phash", "dhash", "whash", "colorhash"])
def test_imagehash_methods_are_the_librarys_hamming_distance(name, astronaut, coffee):
    method = create_method(name)
    function = getattr(imagehash, name)
    assert method.score(method.prepare(astronaut), method.prepare(coffee)) == function(astronaut) - function(coffee)
    packed = method.prepare_many([astronaut, coffee])
    assert method.score_matrix(packed, packed)[0, 1] == function(astronaut) - function(coffee)


def test_pdq_is_the_reference_hash_and_dihedral_finds_a_mirror_image(astronaut):
    pdq, dihedral = create_method("pdq"), create_method("pdq_dihedral")
    bits, _ = pdqhash.compute(np.asarray(astronaut))
    assert np.array_equal(pdq.prepare(astronaut), bits)
    mirror = astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    plain = pdq.score(pdq.prepare(mirror), pdq.prepare(astronaut))
    assert plain > 31  # PDQ's own match threshold: a mirror image is no match for plain PDQ
    assert dihedral.score(dihedral.prepare(mirror), dihedral.prepare(astronaut)) < plain
    both = dihedral.prepare_many([mirror, astronaut])
    assert dihedral.score_matrix(both, both)[0, 1] == dihedral.score(
        dihedral.prepare(mirror), dihedral.prepare(astronaut)
    )


def test_sscd_embeddings_are_unit_vectors_of_512(astronaut, coffee):
    for name in ("sscd", "sscd_distilled"):
        method = create_method(name)
        a = method.prepare(astronaut)
        assert a.shape == (512,) and abs(float(np.linalg.norm(a)) - 1) < 1e-4
        assert method.score(a, a) == pytest.approx(1.0, abs=1e-5)


def test_the_pooled_cnn_normalises_and_pools_where_the_faithful_one_does_not(astronaut):
    pooled, faithful = create_method("cnn_pooled_cosine"), create_method("cnn_cosine")
    assert pooled.prepare(astronaut).shape == (1280,)
    assert tuple(faithful.prepare(astronaut.resize((224, 224))).shape) == (1, 1280, 7, 7)
    assert pooled.describe()["backbone"] == faithful.describe()["backbone"]


def test_crop_resistant_hash_is_the_librarys_segment_matching(astronaut, coffee):
    method = create_method("crop_resistant_hash")
    a, b = imagehash.crop_resistant_hash(astronaut), imagehash.crop_resistant_hash(coffee)
    assert method.score(method.prepare(astronaut), method.prepare(coffee)) == float(a - b)
    assert method.score(method.prepare(astronaut), method.prepare(astronaut)) == 0.0
