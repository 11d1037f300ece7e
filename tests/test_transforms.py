"""Each transform (size, mode, determinism), and the matrix on a set whose answer is known."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import ARTICLE_SUITE, run_in_process
from PIL import Image

from dupbench.methods import DupbenchError
from dupbench.methods.base import Method
from experiments.config import compose_config
from experiments.data.transforms import OPS, apply
from experiments.runners.transform_matrix import recall_and_margin


def config_families() -> dict:
    return dict(compose_config(["experiment=transforms"]).experiment.transforms)


FAMILIES = config_families()
CASES = [(family, spec, severity) for family, spec in FAMILIES.items() for severity in spec["severities"]]
RANDOM = {"rotation", "crop", "perspective", "noise", "overlay"}  # families that draw from the rng


def digest(image: Image.Image) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


def test_the_config_covers_the_issue_families_and_every_op_exists():
    assert {
        "rotation",
        "crop",
        "scale_down",
        "aspect",
        "hflip",
        "perspective",
        "jpeg",
        "brightness",
        "contrast",
        "gamma",
        "blur",
        "noise",
        "grayscale",
        "overlay",
    } <= set(FAMILIES)
    assert list(FAMILIES["rotation"]["severities"]) == [2, 5, 15, 45, 90]
    assert list(FAMILIES["crop"]["severities"]) == [5, 10, 20, 40]
    assert list(FAMILIES["jpeg"]["severities"]) == [90, 50, 20, 10]
    assert {spec["op"] for spec in FAMILIES.values()} <= set(OPS)


@pytest.mark.parametrize("family,spec,severity", CASES, ids=[f"{f}-{s}" for f, _, s in CASES])
def test_transform_size_mode_and_determinism(family, spec, severity, astronaut):
    out = apply(spec, family, astronaut, severity, seed=0, index=0)
    assert out.mode == "RGB"
    w, h = astronaut.size
    expected = {
        "crop": (round(w * np.sqrt(1 - severity / 100)), round(h * np.sqrt(1 - severity / 100))),
        "scale": (round(w * severity), round(h * severity)),
        "aspect": (round(w * severity), h),
    }.get(spec["op"], (w, h))
    assert out.size == expected
    assert digest(apply(spec, family, astronaut, severity, seed=0, index=0)) == digest(out)  # same seed: identical
    if family in RANDOM:  # other seeds give other variants (rotation's one coin flip may agree for two)
        assert len({digest(apply(spec, family, astronaut, severity, seed=s, index=0)) for s in range(6)}) > 1
    if family != "identity":
        assert digest(out) != digest(astronaut)


def test_rotation_and_perspective_grow_with_severity(astronaut):
    base = np.asarray(astronaut, dtype=float)
    for family in ("rotation", "perspective"):
        changes = [
            np.abs(np.asarray(apply(FAMILIES[family], family, astronaut, s, 0, 0), dtype=float) - base).mean()
            for s in FAMILIES[family]["severities"]
        ]
        assert changes == sorted(changes), (family, changes)


def test_a_new_family_of_an_existing_op_needs_no_code(astronaut):
    out = apply({"op": "overlay", "text": "SAMPLE"}, "big_watermark", astronaut, 0.3, 0, 0)
    assert digest(out) != digest(apply({"op": "overlay"}, "big_watermark", astronaut, 0.3, 0, 0))


def test_an_unknown_op_lists_the_valid_ones(astronaut):
    with pytest.raises(DupbenchError, match="unknown op 'twirl'; valid: aspect, blur"):
        apply({"op": "twirl"}, "twirl", astronaut, 1, 0, 0)


class Dist(Method):
    direction = "distance"


class Sim(Method):
    direction = "similarity"


def test_recall_and_margin_by_hand():
    base = np.array([[0.0, 5.0, 6.0], [5.0, 0.0, 7.0], [6.0, 7.0, 0.0]])
    # Query 0's variant is nearest (1 vs 3); query 1's variant (4) loses to variant 0 (2); query 2 wins (1).
    variants = np.array([[1.0, 3.0, 9.0], [2.0, 4.0, 9.0], [8.0, 9.0, 1.0]])
    recall, margin = recall_and_margin(Dist(), base, variants)
    assert recall == pytest.approx(2 / 3)
    assert margin == pytest.approx(np.mean([3 - 1, 2 - 4, 6 - 1]))
    assert recall_and_margin(Sim(), -base, -variants) == pytest.approx((recall, margin))


def test_a_tie_with_a_wrong_image_is_not_a_hit():
    assert recall_and_margin(Dist(), np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0, 5.0], [5.0, 0.5]]))[0] == 0.5


@pytest.mark.slow  # every method over the transform matrix end to end (6 s); the quick suite keeps the per-edit tests
def test_matrix_end_to_end_identity_is_found_by_every_method(tmp_path):
    import pandas as pd

    code, err = run_in_process(
        tmp_path,
        "experiment=transforms",
        "dataset=embedded",
        "dataset.resize.width=48",
        "dataset.resize.height=48",
        "experiment.only=[identity,hflip,rotation]",
    )
    assert code == 0, err[-2000:]
    out = tmp_path / "exp2" / "transforms" / "embedded"
    matrix = pd.read_csv(out / "matrix.csv")
    assert set(matrix["family"]) == {"identity", "hflip", "rotation"}
    assert {"method", "family", "severity", "recall", "margin", "n"} <= set(matrix.columns)
    assert len(matrix) == len(ARTICLE_SUITE) * (1 + 1 + 5) and (matrix["n"] == 8).all()
    identity = matrix[matrix["family"] == "identity"].set_index("method")
    assert (identity["recall"] == 1.0).all() and (identity["margin"] > 0).all()
    assert matrix["recall"].between(0, 1).all()
    # A 90-degree rotation is harder than 2 degrees for the pixel methods: recall can only fall.
    rot = matrix[(matrix["family"] == "rotation")].set_index(["method", "severity"])["recall"]
    assert rot[("cosine", 90.0)] <= rot[("cosine", 2.0)]
    assert (out / "matrix.png").read_bytes()[:4] == b"\x89PNG"
