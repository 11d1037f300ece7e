"""HEIC/HEIF (pillow-heif) and AVIF (Pillow) read by the finder and the benchmark, orientation honoured;
a format that still cannot be read recorded as skipped with its reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dupbench.images import formats
from dupbench.images.read import read_rgb
from dupbench.images.scan import why_not_used
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT
from tests.test_find import run

EMBEDDED = REPO_ROOT / "data" / "embedded"
ORIENTATION = 0x0112


def with_orientation(source: Path, target: Path, orientation: int, **save: object) -> None:
    """The photo stored sideways, with the EXIF tag that tells a viewer to turn it upright, as a
    camera or phone writes it."""
    upright = Image.open(source).convert("RGB")
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns this back upright
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    sideways.save(target, exif=exif.tobytes(), **save)


@pytest.fixture
def library(tmp_path) -> Path:
    """The coffee photo as a phone stores it (sideways, EXIF orientation 6) in JPEG, HEIC and AVIF, among
    seven unrelated photos (the default rule needs a folder where copies are not the majority: a
    group larger than half the folder is its own background, docs/find.md)."""
    ensure_embedded(EMBEDDED)
    root = tmp_path / "library"
    root.mkdir()
    coffee = EMBEDDED / "coffee" / "0_original.png"
    with_orientation(coffee, root / "IMG_0001.jpg", 6, quality=92)
    with_orientation(coffee, root / "IMG_0001.heic", 6, quality=80)
    with_orientation(coffee, root / "IMG_0001.avif", 6, quality=70)
    for group in sorted(p for p in EMBEDDED.iterdir() if p.is_dir() and p.name != "coffee"):
        shutil.copy(group / "0_original.png", root / f"{group.name}.png")
    return root


def test_heic_and_avif_are_read_upright_like_the_jpeg(library):
    assert formats.HEIF_READ and formats.AVIF_READ, "pillow-heif / Pillow's AVIF are dependencies"
    jpeg = np.asarray(read_rgb(library / "IMG_0001.jpg"), dtype=np.float64)
    upright = np.asarray(Image.open(EMBEDDED / "coffee" / "0_original.png").convert("RGB"), dtype=np.float64)
    assert jpeg.shape == upright.shape
    for name in ("IMG_0001.heic", "IMG_0001.avif"):
        assert why_not_used(library / name) is None
        other = np.asarray(read_rgb(library / name), dtype=np.float64)
        assert other.shape == upright.shape, name  # turned upright, as the JPEG is
        assert np.abs(other - upright).mean() < 8, name  # and the same picture (lossy codecs)
        assert np.abs(np.rot90(other, 2) - upright).mean() > 20, name  # the check can tell a turned one


def test_dupbench_find_groups_the_heic_and_avif_copies_with_the_jpeg(library, tmp_path):
    target = tmp_path / "found.json"
    code, _, err = run("find", str(library), "--quiet", "--json", str(target))
    assert code == 1, err
    answer = json.loads(target.read_text())
    groups = [sorted(Path(m["path"]).name for m in g["members"]) for g in answer["groups"]]
    assert groups == [["IMG_0001.avif", "IMG_0001.heic", "IMG_0001.jpg"]], groups
    assert not answer.get("skipped"), answer.get("skipped")


def test_a_format_still_not_read_is_skipped_with_its_reason(tmp_path, monkeypatch):
    raw = tmp_path / "DSC_0001.nef"
    raw.write_bytes(b"raw camera bytes")
    assert why_not_used(raw) == "unsupported format .nef (Pillow cannot decode it here; convert it to JPEG or PNG)"
    # Without pillow-heif (a trimmed install), a .heic is skipped, and the reason says what to install.
    assert "install pillow-heif" in formats.why_unreadable(".heic")
    target = tmp_path / "found.json"
    code, _, err = run("find", str(tmp_path), "--method", "phash", "--quiet", "--json", str(target))
    assert code == 0, err
