"""Loading data sets: manifests, the article's naming convention, the embedded set, image decoding."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dupbench.methods import DupbenchError
from experiments.data import load_dataset, read_rgb, target_size
from experiments.data.embedded import PHOTOS, build
from experiments.paths import REPO_ROOT


def write_images(folder: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), (i * 20 % 255, 100, 50)).save(path)


def write_manifest(path: Path, rows: list[tuple[str, str]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "group"])
        writer.writerows(rows)


def manifest_cfg(root: Path, manifest: Path) -> dict:
    return {
        "name": "mine",
        "kind": "manifest",
        "root": str(root),
        "manifest": str(manifest),
        "resize": {"mode": "fixed", "width": 16, "height": 16},
        "how_to_get": "Ask Bob.",
    }


def test_manifest_groups_and_first_by_path_is_the_reference(tmp_path):
    write_images(tmp_path, ["b/2.png", "b/1.png", "a/x.png", "a/y.png"])
    write_manifest(tmp_path / "m.csv", [("b/2.png", "b"), ("b/1.png", "b"), ("a/y.png", "a"), ("a/x.png", "a")])
    data = load_dataset(manifest_cfg(tmp_path, tmp_path / "m.csv"))
    assert [it.key for it in data.items] == ["a/x.png", "a/y.png", "b/1.png", "b/2.png"]
    assert data.reference_indices == [0, 2]


def test_a_missing_manifest_file_is_named_with_how_to_get_it(tmp_path):
    write_images(tmp_path, ["a/1.png"])
    write_manifest(tmp_path / "m.csv", [("a/1.png", "a"), ("a/gone.png", "a")])
    with pytest.raises(DupbenchError) as info:
        load_dataset(manifest_cfg(tmp_path, tmp_path / "m.csv"))
    message = str(info.value)
    assert str(tmp_path / "a" / "gone.png") in message and "Ask Bob." in message and "\n" not in message


def test_the_article_convention_makes_groups_of_four_consecutive_names(tmp_path):
    write_images(tmp_path, [f"{i:02d}.jpg" for i in range(8)])
    data = load_dataset(
        {
            "name": "sf",
            "kind": "convention",
            "root": str(tmp_path),
            "group_size": 4,
            "resize": {"mode": "scale", "factor": 0.5},
        }
    )
    assert data.groups == ["g0000"] * 4 + ["g0001"] * 4
    assert data.reference_indices == [0, 4]


def test_the_convention_refuses_a_count_that_is_not_a_multiple(tmp_path):
    write_images(tmp_path, [f"{i}.jpg" for i in range(5)])
    with pytest.raises(DupbenchError, match="5 images .* not a multiple of group_size=4"):
        load_dataset({"name": "sf", "kind": "convention", "root": str(tmp_path), "group_size": 4, "resize": {}})


def test_shipped_manifests_match_the_staged_data_sets():
    for name, count, groups in [("fruits360", 96, 24), ("ukbench", 40, 10), ("ukbench800", 800, 200)]:
        with open(REPO_ROOT / "data" / "manifests" / f"{name}.csv") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == count and len({r["group"] for r in rows}) == groups
        assert {"path", "group", "sha256", "width", "height", "source", "licence"} <= set(rows[0])


def test_read_rgb_applies_exif_rotation(tmp_path):
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    image.save(tmp_path / "r.jpg", exif=exif.tobytes())
    assert read_rgb(tmp_path / "r.jpg").size == (20, 40)


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "CMYK", "I;16"])
def test_read_rgb_converts_every_mode_to_rgb(tmp_path, mode):
    suffix = ".jpg" if mode == "CMYK" else ".png"
    Image.new(mode, (10, 10)).save(tmp_path / f"x{suffix}")
    assert read_rgb(tmp_path / f"x{suffix}").mode == "RGB"


@pytest.mark.parametrize("content", [b"", b"this is not an image", None])
def test_unreadable_files_are_one_clear_error_naming_the_file(tmp_path, content):
    path = tmp_path / "bad.jpg"
    if content is None:  # a truncated JPEG
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
        content = path.read_bytes()[:300]
    path.write_bytes(content)
    with pytest.raises(DupbenchError, match=f"cannot read image {path}"):
        read_rgb(path)


def test_target_size():
    assert target_size({"mode": "fixed", "width": 100, "height": 100}, (228, 221)) == (100, 100)
    assert target_size({"mode": "scale", "factor": 0.9}, (640, 480)) == (576, 432)
    assert target_size({"mode": "scale", "factor": 1 / 7}, (3024, 4032)) == (432, 576)
    with pytest.raises(DupbenchError, match="resize mode"):
        target_size({"mode": "stretch"}, (1, 1))


def _digests(root: Path) -> dict[str, str]:
    return {
        p.name + p.parent.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.suffix in {".png", ".jpg"}
    }


def test_embedded_set_is_deterministic_and_the_seed_changes_it(tmp_path):
    build(tmp_path / "one", seed=0)
    build(tmp_path / "two", seed=0)
    build(tmp_path / "three", seed=1)
    one = _digests(tmp_path / "one")
    assert len(one) == 4 * len(PHOTOS)
    assert one == _digests(tmp_path / "two")
    changed = {k for k, v in _digests(tmp_path / "three").items() if one[k] != v}
    assert changed and not any(k.startswith("0_original") for k in changed)  # originals stay, variants change
    data = load_dataset(
        {
            "name": "embedded",
            "kind": "embedded",
            "root": str(tmp_path / "one"),
            "seed": 0,
            "resize": {"mode": "fixed", "width": 64, "height": 64},
        }
    )
    assert len(data.items) == 32 and len(data.reference_indices) == 8
    assert all(data.items[i].key.endswith("0_original.png") for i in data.reference_indices)
