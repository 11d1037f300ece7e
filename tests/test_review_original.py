"""The kept copy is the original, not an upscaled copy of it (issue 41): an upscaled copy has the most pixels
and no more detail, compared at the smaller size (dupbench/finder/original.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from dupbench.finder import original
from dupbench.finder.find import Photo
from dupbench.finder.original import upscaled_from
from tests.test_find import found_json

PHASH = ["--method", "phash", "--threshold", "12", "--quiet"]


def saved(image: Image.Image, path: Path, quality: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=quality)
    return path


def as_photo(path: Path) -> Photo:
    with Image.open(path) as image:
        width, height = image.size
    return Photo(path, path.parent, path.stat().st_size, "", width=width, height=height)


@pytest.mark.parametrize("name", ["coffee", "text"])  # a photo, and a chart-like image of sharp edges
def test_an_upscaled_copy_beside_its_original_is_not_the_copy_kept(tmp_path, name):
    original = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    folder = tmp_path / "photos"
    saved(original, folder / "original.jpg")
    big = original.resize((original.width * 2, original.height * 2), Image.Resampling.BICUBIC)
    saved(big, folder / "enlarged.jpg", quality=80)  # re-compressed, as a web page's copy is
    _, answer = found_json(tmp_path, str(folder), *PHASH, "--cache", str(tmp_path / "c.sqlite"))
    (group,) = answer["groups"]
    assert Path(group["best"]).name == "original.jpg"
    assert "enlarged.jpg" in group["kept_because"] and "upscaled copy" in group["kept_because"]


def test_a_larger_original_beside_its_smaller_copy_is_still_kept(tmp_path):
    original = Image.fromarray(skimage.data.coffee()).convert("RGB")
    folder = tmp_path / "photos"
    saved(original, folder / "original.jpg")
    saved(original.resize((original.width // 2, original.height // 2), Image.Resampling.LANCZOS), folder / "small.jpg")
    _, answer = found_json(tmp_path, str(folder), *PHASH, "--cache", str(tmp_path / "c.sqlite"))
    (group,) = answer["groups"]
    assert Path(group["best"]).name == "original.jpg" and group["kept_because"].startswith("most pixels")


@pytest.mark.parametrize("name", ["astronaut", "camera", "chelsea", "page", "rocket"])
def test_told_apart_at_one_and_a_half_and_two_times(tmp_path, name):
    image = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    source = as_photo(saved(image, tmp_path / "source.jpg"))
    for scale in (1.5, 2.0):
        size = (round(image.width * scale), round(image.height * scale))
        up = as_photo(saved(image.resize(size, Image.Resampling.BICUBIC), tmp_path / f"up-{scale}.jpg", 80))
        assert upscaled_from(up, source), scale
        small_size = (round(image.width / scale), round(image.height / scale))
        small = as_photo(saved(image.resize(small_size, Image.Resampling.LANCZOS), tmp_path / f"small-{scale}.jpg", 85))
        assert not upscaled_from(source, small), scale


def test_another_shape_or_a_close_size_is_never_called_upscaled_nor_decoded(tmp_path, monkeypatch):
    image = Image.fromarray(skimage.data.coffee()).convert("RGB")
    source = as_photo(saved(image, tmp_path / "source.jpg"))
    decoded = []
    real = original.gray_at_most
    monkeypatch.setattr(original, "gray_at_most", lambda *args: decoded.append(args) or real(*args))
    wide = image.resize((image.width * 2, image.height), Image.Resampling.BICUBIC)  # a stretched copy, or a crop
    assert not upscaled_from(as_photo(saved(wide, tmp_path / "wide.jpg")), source)
    close = image.resize((round(image.width * 1.2), round(image.height * 1.2)), Image.Resampling.BICUBIC)
    assert not upscaled_from(as_photo(saved(close, tmp_path / "close.jpg")), source)
    assert decoded == []  # neither is worth a decode: a group of burst shots at two sizes costs nothing here


def test_of_two_copies_of_one_size_the_one_with_the_cameras_exif_is_kept(tmp_path):
    image = Image.fromarray(skimage.data.chelsea()).convert("RGB")
    folder = tmp_path / "photos"
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS 5D"
    saved(image, folder / "IMG_0001.jpg", quality=80).unlink()
    image.save(folder / "IMG_0001.jpg", quality=80, exif=exif)
    saved(image, folder / "shared.jpg", quality=95)  # saved again without it: larger, the same pixels
    assert (folder / "shared.jpg").stat().st_size > (folder / "IMG_0001.jpg").stat().st_size
    _, answer = found_json(tmp_path, str(folder), *PHASH, "--cache", str(tmp_path / "c.sqlite"))
    (group,) = answer["groups"]
    assert Path(group["best"]).name == "IMG_0001.jpg" and "camera's EXIF" in group["kept_because"]


def test_of_two_jpegs_of_one_size_the_higher_quality_is_kept_over_the_larger_file(tmp_path):
    image = Image.fromarray(skimage.data.chelsea()).convert("RGB")
    folder = tmp_path / "photos"
    saved(image, folder / "fine.jpg", quality=90)
    folder.joinpath("coarse.jpg").parent.mkdir(exist_ok=True)
    image.save(folder / "coarse.jpg", quality=70, comment=b"x" * 60_000)  # larger for its comment alone
    assert (folder / "coarse.jpg").stat().st_size > (folder / "fine.jpg").stat().st_size
    _, answer = found_json(tmp_path, str(folder), *PHASH, "--cache", str(tmp_path / "c.sqlite"))
    (group,) = answer["groups"]
    assert Path(group["best"]).name == "fine.jpg"
    assert group["kept_because"] == "most pixels (451x300), then the higher JPEG quality (about 90, against 70)"
