"""The embedded default data set: real photos that scikit-image ships, each with 3 mild variants.

Needs no download. Each photo (public domain or CC0, see skimage.data's docstrings) is scaled to at
most 256 px a side and becomes a group of 4: the original (the reference) and, seeded, a 2-3 degree
rotation, a crop of about 5 % of the area, and a brightness change saved as JPEG quality 70.
Built once into a folder with its MANIFEST.csv; rebuilt when the generator's version or seed change.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from dupbench.files import current_umask
from experiments.data.built import ensure

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "camera", "coins")
GENERATOR_VERSION = 1
MAX_SIDE = 256
LICENCE = "public domain or CC0 (scikit-image sample data; see each skimage.data function's docstring)"


def _photo(name: str) -> Image.Image:
    import skimage.data

    image = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def _variants(image: Image.Image, rng: np.random.Generator) -> list[tuple[str, Image.Image, str]]:
    w, h = image.size
    angle = float(rng.uniform(2.0, 3.0) * rng.choice([-1, 1]))
    rotated = image.rotate(angle, resample=Image.Resampling.BICUBIC)
    keep = np.sqrt(0.95)  # 95 % of the area kept
    cw, ch = round(w * keep), round(h * keep)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    cropped = image.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.Resampling.BICUBIC)
    factor = float(rng.choice([-1, 1]) * rng.uniform(0.05, 0.12) + 1.0)
    toned = ImageEnhance.Brightness(image).enhance(factor)
    return [
        ("0_original.png", image, "original"),
        ("1_rotate.png", rotated, f"rotate {angle:+.2f} deg"),
        ("2_crop.png", cropped, f"crop to {cw}x{ch} at ({x0},{y0}), resized back"),
        ("3_tone.jpg", toned, f"brightness x{factor:.3f}, JPEG quality 70"),
    ]


def _encode(image: Image.Image, filename: str) -> bytes:
    buffer = io.BytesIO()
    if filename.endswith(".jpg"):
        image.save(buffer, format="JPEG", quality=70)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def build(root: Path, seed: int = 0) -> None:
    """Write the set into `root` atomically: built in a temporary folder, then renamed."""
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".embedded-", dir=root.parent))
    tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700: the set is for every user of the clone
    rows = []
    for index, name in enumerate(PHOTOS):
        rng = np.random.default_rng([seed, index])
        (tmp / name).mkdir()
        for filename, image, how in _variants(_photo(name), rng):
            data = _encode(image, filename)
            (tmp / name / filename).write_bytes(data)
            rows.append(
                [
                    f"{name}/{filename}",
                    name,
                    hashlib.sha256(data).hexdigest(),
                    image.width,
                    image.height,
                    f"scikit-image skimage.data.{name}(); {how}",
                    LICENCE,
                ]
            )
    with open(tmp / "MANIFEST.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["path", "group", "sha256", "width", "height", "source", "licence"])
        writer.writerows(rows)
    (tmp / "BUILD.json").write_text(json.dumps({"generator_version": GENERATOR_VERSION, "seed": seed}))
    if root.exists():
        shutil.rmtree(root)
    os.replace(tmp, root)


def ensure_embedded(root: Path, seed: int = 0) -> None:
    """Built once, under the set's lock, however many runs start at once (see built.ensure)."""
    ensure(root, {"generator_version": GENERATOR_VERSION, "seed": seed}, lambda: build(root, seed))
