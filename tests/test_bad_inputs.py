"""Every bad-input case of the README's table, each built here: a clear error or a recorded skip,
never a traceback from inside a library, never a silently different result."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_in_process
from PIL import Image

from dupbench.methods import DupbenchError
from experiments.data import load_dataset, read_rgb
from experiments.data.images import ImageCache
from experiments.data.loader import UnreadableImage


def save(path: Path, image: Image.Image, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kw)
    return path


def noise(w: int = 64, h: int = 48, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


# --- files a run leaves out, recording why -------------------------------------------------------


def test_zero_byte_file_is_skipped(tmp_path):
    (tmp_path / "z.jpg").write_bytes(b"")
    with pytest.raises(UnreadableImage, match="empty file"):
        read_rgb(tmp_path / "z.jpg")


def test_truncated_jpeg_is_skipped(tmp_path):
    path = save(tmp_path / "t.jpg", noise())
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(UnreadableImage, match=f"cannot read image {path}"):
        read_rgb(path)


def test_text_file_named_jpg_is_skipped(tmp_path):
    (tmp_path / "n.jpg").write_text("not an image at all")
    with pytest.raises(UnreadableImage, match="not an image format Pillow recognises") as raised:
        read_rgb(tmp_path / "n.jpg")
    # The reason names the file and reads as text: not Pillow's "<_io.BytesIO object at 0x...>".
    assert str(tmp_path / "n.jpg") in str(raised.value) and "BytesIO" not in str(raised.value)


def test_image_over_the_decompression_bomb_limit_is_skipped(tmp_path):
    # 20,000 x 20,000 pixels (4.5 times Pillow's limit); a 1-bit PNG of it is small on disk.
    big = save(tmp_path / "bomb.png", Image.new("1", (20_000, 20_000)))
    with pytest.raises(UnreadableImage, match="decompression-bomb limit of 89478485"):
        read_rgb(big)
    # Between the limit and twice it Pillow only warns: refused too. The limit is a setting.
    small = save(tmp_path / "s.png", noise(100, 100))
    with pytest.raises(UnreadableImage, match="limit of 5000 pixels"):
        read_rgb(small, max_pixels=5000)
    assert read_rgb(small, max_pixels=20_000).size == (100, 100)


# --- odd but valid files: used, converted without changing what they show ---------------------


def test_png_with_alpha_is_composited_onto_white(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red under it, but fully transparent in the left half
    rgba[:, 2:, 3] = 255
    out = np.asarray(read_rgb(save(tmp_path / "a.png", Image.fromarray(rgba, "RGBA"))))
    assert (out[:, :2] == 255).all() and (out[:, 2:] == [200, 0, 0]).all()


def test_palette_image_is_converted_with_its_transparency(tmp_path):
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    image.putpixel((0, 0), 0)
    out = np.asarray(read_rgb(save(tmp_path / "p.png", image, transparency=0)))
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[1, 1]) == (10, 200, 30)


def test_16_bit_grayscale_png_is_scaled_not_clipped(tmp_path):
    ramp = np.arange(0, 65536, 256, dtype=np.uint16).reshape(16, 16)
    path = save(tmp_path / "g16.png", Image.fromarray(ramp))
    out = np.asarray(read_rgb(path))[..., 0]
    np.testing.assert_allclose(out, ramp / 257, atol=1)
    # Pillow's own convert("RGB") clips it to nearly all white: the silently different result avoided.
    assert np.asarray(Image.open(path).convert("RGB")).mean() > 250 > out.mean() + 100


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = save(tmp_path / "c.jpg", Image.new("CMYK", (8, 8), (0, 255, 255, 0)), quality=100)
    out = np.asarray(read_rgb(path))
    assert out.shape == (8, 8, 3) and out[..., 0].mean() > 200 and out[..., 1:].mean() < 60  # red


def test_grayscale_jpeg_becomes_three_equal_channels(tmp_path):
    out = np.asarray(read_rgb(save(tmp_path / "g.jpg", Image.new("L", (8, 8), 90))))
    assert out.shape == (8, 8, 3) and (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_exif_rotated_jpeg_is_transposed_before_any_method_sees_it(tmp_path):
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    out = np.asarray(read_rgb(save(tmp_path / "r.jpg", Image.fromarray(pixels), exif=exif.tobytes(), quality=100)))
    assert out.shape == (40, 20, 3)
    assert out[:15].mean() > 200 and out[25:].mean() < 50  # the white half is now on top


# --- problems that stop a run with one line ------------------------------------------------------


def folder_cfg(root: Path, **extra) -> dict:
    return {
        "name": "mine",
        "kind": "folders",
        "root": str(root),
        "resize": {"mode": "fixed", "width": 64, "height": 64},
        **extra,
    }


def test_image_too_small_for_a_method_stops_before_any_work(tmp_path):
    for i in range(2):
        save(tmp_path / "g" / f"{i}.png", noise(8, 8, i))
    cache = ImageCache(load_dataset(folder_cfg(tmp_path, resize={"mode": "scale", "factor": 1.0})))
    cache.check_min_side(1, "ahash")
    with pytest.raises(DupbenchError, match="2 image.* under the 32 px a side that cnn_cosine needs.*g/0.png at 8x8"):
        cache.check_min_side(32, "cnn_cosine")


def test_empty_folder_is_one_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DupbenchError, match="no images in sub-folders of"):
        load_dataset(folder_cfg(tmp_path / "empty"))


def test_folder_of_only_unreadable_files_is_one_clear_error(tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "a.jpg").write_bytes(b"")
    with pytest.raises(DupbenchError, match="none of its 1 images can be read"):
        ImageCache(load_dataset(folder_cfg(tmp_path)))


def test_manifest_row_whose_file_is_missing_is_one_clear_error(tmp_path):
    save(tmp_path / "g" / "1.png", noise())
    (tmp_path / "m.csv").write_text("path,group\ng/1.png,g\ng/2.png,g\n")
    with pytest.raises(DupbenchError, match=f"1 of 2 files missing, first {tmp_path / 'g' / '2.png'}"):
        load_dataset({**folder_cfg(tmp_path), "kind": "manifest", "manifest": str(tmp_path / "m.csv")})


def test_a_file_that_differs_from_its_manifest_is_an_error_not_a_different_result(tmp_path):
    path = save(tmp_path / "g" / "1.png", noise())
    good = hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_rgb(path, sha256=good).size == (64, 48)
    with pytest.raises(DupbenchError, match="differs from its manifest"):
        read_rgb(path, sha256="0" * 64)


def test_group_with_a_single_image_is_a_distractor_not_a_query(tmp_path):
    for i in range(3):
        save(tmp_path / "pair" / f"{i}.png", noise(seed=i))
    save(tmp_path / "alone" / "0.png", noise(seed=9))
    dataset = load_dataset(folder_cfg(tmp_path))
    assert [dataset.items[i].key for i in dataset.reference_indices] == ["pair/0.png"]
    assert [(s.key, s.stage) for s in dataset.all_skips()] == [("alone/0.png", "query")]


# --- the whole run, as a user meets these cases -----------------------------------------------


def test_a_run_over_a_folder_with_bad_files_records_them_and_finishes(tmp_path):
    data = tmp_path / "data"
    for g in range(2):
        for i in range(3):
            save(data / f"g{g}" / f"{i}.jpg", noise(seed=10 * g + i).resize((64, 48)))
    (data / "g0" / "empty.jpg").write_bytes(b"")
    (data / "g1" / "text.jpg").write_text("hello")
    save(data / "g1" / "alpha.png", Image.new("RGBA", (30, 30), (0, 0, 0, 0)))
    code, err = run_in_process(tmp_path / "out", "dataset=folder", f"dataset.root={data}", "method=ahash")
    assert code == 0, err[-2000:]
    out = tmp_path / "out" / "exp1" / "folder"
    skipped = pd.read_csv(out / "skipped.csv").set_index("path")
    assert set(skipped.index) == {"g0/empty.jpg", "g1/text.jpg"}
    assert "empty file" in skipped.loc["g0/empty.jpg", "reason"]
    row = pd.read_csv(out / "table.csv").iloc[0]
    assert row["n_images"] == 7 and row["n_skipped"] == 2  # the alpha PNG is used


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("dataset.resize.factor=inf", "dataset.resize.factor"),
        ("dataset.resize.factor=1e300", "dataset.resize.factor"),
        ("dataset.resize=null", "dataset.resize"),
        ("results_root=", "results_root"),
        ("results_root=/etc/hostname", "results_root"),
    ],
)
def test_settings_out_of_range_are_one_line_before_hydra_creates_anything(override, says):
    from experiments.settings import check_overrides

    with pytest.raises(DupbenchError, match=rf"^{re.escape(says)}=.* is not allowed"):
        check_overrides(["dataset=ukbench", override])


def test_a_factor_that_shrinks_images_below_a_few_pixels_is_refused():
    from experiments.data.loader import target_size

    with pytest.raises(DupbenchError, match=r"shrinks a 640x480 image to 0x0"):
        target_size({"mode": "scale", "factor": 1e-9}, (640, 480))
    assert target_size({"mode": "scale", "factor": 0.01}, (640, 480)) == (6, 5)
