"""Data sets built from another by editing its photos, seeded: `ukbench800-edits` (issue 15), its hard
tier `ukbench800-hard` (issue 25: HARD_EDITS) and the synthetic distractors that scale the field
benchmark (`ukbench800-scale`).

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
from experiments.settings import EDIT_SET_NAMES

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


# The hard tier (issue 25, `ukbench800-hard`): edits that separate the best copy detectors, after
# DISC21's: combinations, crops to half and a quarter of the area, the photo pasted onto another,
# inside a phone screenshot, a 64-px thumbnail, quarter and half turns (in the pixels, or in the
# EXIF orientation tag only), perspective, heavy colour change.


def combination(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    cropped, crop_how = crop_area(0.5)(image, rng)
    texted, text_how = text_overlay(cropped, rng)
    return texted, f"{crop_how}; {text_how}; JPEG quality 30"


def overlay(image: Image.Image, rng: np.random.Generator, backdrop: Image.Image) -> tuple[Image.Image, str]:
    """The photo at 60 % of the backdrop's side (36 % of its area) pasted onto another group's photo.
    DISC21 pastes onto distractors; ukbench800 has no photos outside its groups, so a method that
    matches the backdrop is charged a false pair here."""
    out = backdrop.copy()
    w, h = round(out.width * 0.6), round(out.height * 0.6)
    x, y = int(rng.integers(0, out.width - w + 1)), int(rng.integers(0, out.height - h + 1))
    out.paste(image.resize((w, h), Image.Resampling.BICUBIC), (x, y))
    return out, f"pasted at ({x},{y}), {w}x{h}, onto another group's photo"


def phone_screenshot(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """A phone screen (390x844, a messaging app's light theme): status bar, a header, the photo
    fitted to the width as a message, words under it."""
    screen = Image.new("RGB", (390, 844), (245, 245, 247))
    draw = ImageDraw.Draw(screen)
    font = ImageFont.load_default(size=15)
    draw.text((20, 14), "9:41", font=font, fill="black")
    draw.rectangle((0, 50, 390, 110), fill=(255, 255, 255))
    draw.text((150, 70), str(rng.choice(WORDS)).title(), font=font, fill="black")
    width = 330
    height = round(image.height * width / image.width)
    top = int(rng.integers(150, 844 - height - 120))
    screen.paste(image.resize((width, height), Image.Resampling.BICUBIC), (30, top))
    draw.text((30, top + height + 12), " ".join(rng.choice(WORDS, size=3)), font=font, fill=(60, 60, 60))
    return screen, f"inside a 390x844 phone screenshot at (30,{top}), {width}x{height}"


def perspective(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """Each corner moved inwards by up to 15 % of the side: the photo as seen at an angle."""
    w, h = image.size
    moved = [
        (x + sx * float(rng.uniform(0, 0.15)) * w, y + sy * float(rng.uniform(0, 0.15)) * h)
        for (x, y), (sx, sy) in zip([(0, 0), (w, 0), (w, h), (0, h)], [(1, 1), (-1, 1), (-1, -1), (1, -1)])
    ]
    # The transform maps each output corner to where the moved corner sits in the input.
    rows, rhs = [], []
    for (x, y), (u, v) in zip([(0, 0), (w, 0), (w, h), (0, h)], moved):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    coefficients = np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float))
    out = image.transform((w, h), Image.Transform.PERSPECTIVE, tuple(coefficients), Image.Resampling.BICUBIC)
    return out, "perspective: corners at " + ", ".join(f"({u:.0f},{v:.0f})" for u, v in moved)


def colour_change(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    shift = int(rng.integers(60, 150))
    h, s, v = image.convert("HSV").split()
    h = h.point(lambda x: (x + shift * 256 // 360) % 256)
    s = s.point(lambda x: min(255, round(x * 1.6)))
    out = Image.merge("HSV", (h, s, v)).convert("RGB")
    return ImageEnhance.Contrast(out).enhance(1.4), f"hue +{shift} deg, saturation x1.6, contrast x1.4"


def thumbnail(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    out = image.copy()
    out.thumbnail((64, 64), Image.Resampling.LANCZOS)
    return out, f"thumbnail {out.width}x{out.height}"


HARD_EDITS: dict[str, Callable[..., tuple[Image.Image, str]]] = {
    "crop50_text_jpeg30": combination,
    "crop50": crop_area(0.50),
    "crop75": crop_area(0.25),
    "overlay": overlay,
    "screenshot": phone_screenshot,
    "thumb64": thumbnail,
    "rot90": lambda im, rng: (im.transpose(Image.Transpose.ROTATE_90), "rotated 90 deg in the pixels"),
    "rot180": lambda im, rng: (im.transpose(Image.Transpose.ROTATE_180), "rotated 180 deg in the pixels"),
    # The pixels stored turned a quarter, the EXIF tag saying so (6: turn 90 deg clockwise to show):
    # a reader that honours the tag sees the original; one that ignores it, a quarter turn.
    "exif_rot90": lambda im, rng: (im.transpose(Image.Transpose.ROTATE_90), "stored turned, EXIF orientation 6"),
    "perspective": perspective,
    "colour": colour_change,
}
EDIT_SETS = dict(zip(EDIT_SET_NAMES, (EDITS, HARD_EDITS)))
NEEDS_BACKDROP = {"overlay"}
JPEG_QUALITY = {"jpeg30": 30, "crop50_text_jpeg30": 30}
EXIF_ORIENTATION = {"exif_rot90": 6}


def encode_jpeg(image: Image.Image, quality: int, orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    if orientation is None:
        image.save(buffer, format="JPEG", quality=quality)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(buffer, format="JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


def distractor(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = image.size
    cw, ch = w // 3, h // 3
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return image.crop((x0, y0, x0 + cw, y0 + ch)).resize((320, 240), Image.Resampling.BILINEAR), (
        f"a ninth of the area at ({x0},{y0}), resized to 320x240"
    )


def edit_set(edits: bool | str) -> str | None:
    """`edits:` in a data set's config: true (the standard twelve), false (none) or a set's name."""
    if edits is True or edits == "standard":
        return "standard"
    if edits is False or edits in ("none", ""):
        return None
    if edits not in EDIT_SETS:
        raise ValueError(f"edits: {edits!r}: true, false or one of {', '.join(EDIT_SETS)}")
    return str(edits)


def stamp(source: Sequence[Item], seed: int, distractors: int, edits: bool | str) -> dict:
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


def _rgb(item: Item) -> Image.Image:
    with Image.open(item.path) as opened:
        return ImageOps.exif_transpose(opened).convert("RGB")


def _edited(original: Item, index: int, seed: int, edits: str, source: Sequence[Item]) -> list[list]:
    rows = []
    image = _rgb(original)
    for number, (edit, make) in enumerate(EDIT_SETS[edits].items()):
        rng = np.random.default_rng([seed, index, number])
        if edit in NEEDS_BACKDROP:  # a photo of another group, not its original (those are the queries' sources)
            others = [it for it in source if it.group != original.group and it.key != original.key]
            backdrop = others[int(rng.integers(0, len(others)))]
            edited, how = make(image, rng, _rgb(backdrop))
            how += f" ({backdrop.key})"
        else:
            edited, how = make(image, rng)
        orientation = EXIF_ORIENTATION.get(edit)
        data = encode_jpeg(edited, JPEG_QUALITY.get(edit, QUALITY), orientation)
        # The manifest's size is the stored one (data/check.py reads it before any EXIF turn).
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
    root: Path,
    source: Sequence[Item],
    seed: int = 0,
    distractors: int = 0,
    edits: bool | str = True,
    workers: int = 2,
) -> None:
    rows, originals, chosen = [], _originals(source), edit_set(edits)
    for item in source:  # every photo as it is
        edit = "original" if item in originals else "view"
        rows.append([item.key, item.group, edit, item.path.read_bytes(), (item.width, item.height), item.key])
    with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while it decodes and encodes
        to_edit = enumerate(originals if chosen else [])
        for edited in pool.map(lambda pair: _edited(pair[1], pair[0], seed, chosen, source), to_edit):
            rows += edited
        rows += pool.map(lambda n: _distractor(source, n, seed), range(distractors))
    write_set(root, rows, stamp(source, seed, distractors, edits))


def ensure_built(
    root: Path, source: Sequence[Item], seed: int = 0, distractors: int = 0, edits: bool | str = True
) -> None:
    edit_set(edits)  # a wrong name is one line before anything is built
    ensure(root, stamp(source, seed, distractors, edits), lambda: build(root, source, seed, distractors, edits))
