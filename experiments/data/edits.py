"""Data sets built from another by editing its photos, seeded: `ukbench800-edits` (issue 15) and the
synthetic distractors that scale the field benchmark (`ukbench800-scale`).

Edits: the first view of each group of the source is its original; each original gets the edited
copies of EDITS (crop, flips, rotation, aspect change, JPEG quality, text overlay, blur, grayscale,
brightness, padding), all in the original's group; every photo of the source is copied in as it is,
so the other views stay in as real multi-view positives of the original and distractors for every
other group. Distractors (`distractors: N`): crops of the source's photos (a ninth of the area at a
seeded position), each its own group, at 320x240: images that look like the data set's without
being anyone's duplicate.

Built once into the set's folder with a MANIFEST.csv (path, group, edit, sha256, ...) and rebuilt
when the generator's version, the seed or the source change; the committed manifest in
data/manifests/ lists the sha256 each generated file must have (`python -m experiments.data check`).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from experiments.data.built import ensure, write_set
from experiments.data.dataset import Item

GENERATOR_VERSION = 1
QUALITY = 90  # every edited copy is saved as JPEG at this quality, but the one that tests quality
WORDS = ("holiday", "copy", "sale", "2026", "photo", "draft", "sample", "hello", "meme", "museum")


def crop_area(keep: float) -> Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]]:
    def edit(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
        w, h = image.size
        cw, ch = round(w * keep**0.5), round(h * keep**0.5)
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return image.crop((x0, y0, x0 + cw, y0 + ch)), f"{1 - keep:.0%} of the area cropped away at ({x0},{y0})"

    return edit


def text_overlay(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    out = image.copy()
    words = " ".join(rng.choice(WORDS, size=2))
    size = max(12, image.height // 8)
    font = ImageFont.load_default(size=size)
    x, y = int(rng.integers(0, image.width // 3)), int(rng.integers(0, image.height - size - 1))
    ImageDraw.Draw(out).text((x, y), words, font=font, fill="white", stroke_width=2, stroke_fill="black")
    return out, f"text {words!r} at ({x},{y}), {size} px"


def brightness(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    factor = float(rng.choice([0.6, 1.5]))
    return ImageEnhance.Brightness(image).enhance(factor), f"brightness x{factor}"


def padding(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    border = round(0.1 * max(image.size))
    colour = str(rng.choice(["black", "white"]))
    return ImageOps.expand(image, border=border, fill=colour), f"{border} px {colour} border"


EDITS: dict[str, Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]]] = {
    "crop10": crop_area(0.90),
    "crop25": crop_area(0.75),
    "hflip": lambda im, rng: (ImageOps.mirror(im), "horizontal flip"),
    "vflip": lambda im, rng: (ImageOps.flip(im), "vertical flip"),
    "rotate25": lambda im, rng: (im.rotate(25, resample=Image.Resampling.BICUBIC, expand=True), "rotated 25 deg"),
    "square": lambda im, rng: (im.resize((min(im.size),) * 2, Image.Resampling.BICUBIC), "resized to a square"),
    "jpeg30": lambda im, rng: (im, "JPEG quality 30"),
    "text": text_overlay,
    "blur": lambda im, rng: (im.filter(ImageFilter.GaussianBlur(3)), "Gaussian blur, radius 3"),
    "grayscale": lambda im, rng: (im.convert("L"), "grayscale"),
    "brightness": brightness,
    "padding": padding,
}


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def distractor(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = image.size
    cw, ch = w // 3, h // 3
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return image.crop((x0, y0, x0 + cw, y0 + ch)).resize((320, 240), Image.Resampling.BILINEAR), (
        f"a ninth of the area at ({x0},{y0}), resized to 320x240"
    )


def stamp(source: Sequence[Item], seed: int, distractors: int, edits: bool) -> dict:
    digest = hashlib.sha256("".join(f"{it.key}:{it.sha256}" for it in source).encode()).hexdigest()[:16]
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "edits": edits,
        "distractors": distractors,
        "source": digest,
    }


def _originals(source: Sequence[Item]) -> list[Item]:
    seen: set[str] = set()
    return [it for it in source if not (it.group in seen or seen.add(it.group))]  # type: ignore[func-returns-value]


def _edited(original: Item, index: int, seed: int) -> list[list]:
    rows = []
    with Image.open(original.path) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    for number, (edit, make) in enumerate(EDITS.items()):
        rng = np.random.default_rng([seed, index, number])
        edited, how = make(image, rng)
        data = encode_jpeg(edited, 30 if edit == "jpeg30" else QUALITY)
        rows.append([f"{Path(original.key).with_suffix('')}_{edit}.jpg", original.group, edit, data, edited.size, how])
    return rows


def _distractor(source: Sequence[Item], number: int, seed: int) -> list:
    rng = np.random.default_rng([seed, 1_000_000 + number])
    item = source[int(rng.integers(0, len(source)))]
    with Image.open(item.path) as opened:
        opened.draft("RGB", (opened.width // 2, opened.height // 2))
        image, how = distractor(ImageOps.exif_transpose(opened).convert("RGB"), rng)
    data = encode_jpeg(image, QUALITY)
    return [
        f"distractors/d{number:06d}.jpg",
        f"distractor{number:06d}",
        "distractor",
        data,
        image.size,
        f"{item.key}: {how}",
    ]


def build(
    root: Path, source: Sequence[Item], seed: int = 0, distractors: int = 0, edits: bool = True, workers: int = 2
) -> None:
    rows, originals = [], _originals(source)
    for item in source:  # every photo as it is
        edit = "original" if item in originals else "view"
        rows.append([item.key, item.group, edit, item.path.read_bytes(), (item.width, item.height), item.key])
    with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while it decodes and encodes
        for made in pool.map(lambda pair: _edited(pair[1], pair[0], seed), enumerate(originals if edits else [])):
            rows += made
        rows += pool.map(lambda n: _distractor(source, n, seed), range(distractors))
    write_set(root, rows, stamp(source, seed, distractors, edits))


def ensure_built(root: Path, source: Sequence[Item], seed: int = 0, distractors: int = 0, edits: bool = True) -> None:
    ensure(root, stamp(source, seed, distractors, edits), lambda: build(root, source, seed, distractors, edits))
