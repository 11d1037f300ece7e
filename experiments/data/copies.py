"""Two seeded folders for issue 39, drawn by experiments/data/lookalikes.py and read from ukbench800's
photos, in one flat folder each with neutral names (a finder cannot use the names):

- `person`: a person's folder of every kind (photos, documents, screens, charts, products). Each kind
  has originals with a copy of every type people keep (COPY_TYPES: a byte copy, JPEG at 50/70/95, half
  size, a messenger copy, PNG, WebP, HEIC, border crops of 5/10/20 %, the image in a captured window,
  grayscale, a caption, a caption across the middle, a watermark), distinct images with no copy, and
  bursts among the photos (one photo saved 5, 10, 15, 20 and 30 ways).
- `lookalikes`: per kind, originals and their look-alikes (another invoice number, date or amount; a
  toggle flipped or another user; one point moved; another product), half of them with a JPEG 70 or a
  half-size copy. A look-alike is its own group: grouping it with its original is a false merge.

Manifest rows (experiments/data/built.py): path, group, edit (the copy type, "original", "distinct",
"burst" or the look-alike's kind), sha256, size, and `source` = "<kind> <half>": originals numbered
even are the half a rule may be chosen on ("choose"), odd ones the half it is reported on ("report").
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from experiments.data import lookalikes
from experiments.data.built import Row, ensure, write_set

VERSION = 1
KINDS = {"documents": "invoices", "screens": "settings", "charts": "charts", "products": "products", "photos": None}
# The copy types, each a function of (original, rng) -> (format, bytes). A JPEG or WebP copy is the
# original saved that way, not a decoded image saved again.
BURST_SIZES = (5, 10, 15, 20, 30)


def saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def drawn(make: Callable[[Image.Image, np.random.Generator], Image.Image]) -> Callable:
    """A copy lookalikes.py draws (decoded pixels), saved as a JPEG at 92 as a phone or an app saves it."""
    return lambda image, rng: ("jpg", saved(make(image, rng), "JPEG", quality=92))


COPY_TYPES: dict[str, Callable[[Image.Image, np.random.Generator], tuple[str, bytes]]] = {
    "byte": lambda image, rng: ("", b""),  # the original's own bytes, filled in by copies_of
    "jpeg50": lambda image, rng: ("jpg", saved(image, "JPEG", quality=50)),
    "jpeg70": lambda image, rng: ("jpg", saved(image, "JPEG", quality=70)),
    "jpeg95": lambda image, rng: ("jpg", saved(image, "JPEG", quality=95)),
    "half": drawn(lookalikes.half),
    "messenger": drawn(lookalikes.messenger),
    "png": lambda image, rng: ("png", saved(image, "PNG")),
    "webp": lambda image, rng: ("webp", saved(image, "WEBP", quality=80)),
    "heic": lambda image, rng: ("heic", saved(image, "HEIF", quality=80)),
    "crop5": drawn(lookalikes.border_crop(0.05)),
    "crop10": drawn(lookalikes.border_crop(0.10)),
    "crop20": drawn(lookalikes.border_crop(0.20)),
    "window": drawn(lookalikes.COPIES["window"]),
    "grayscale": drawn(lookalikes.COPIES["grayscale"]),
    "caption": drawn(lookalikes.COPIES["caption"]),
    "caption_middle": drawn(lookalikes.COPIES["caption_middle"]),
    "watermark": drawn(lookalikes.watermark),
}


def half_of(number: int) -> str:
    return "choose" if number % 2 == 0 else "report"


def originals(kind: str, count: int, seed: int, ukbench: Path) -> Iterator[tuple[Image.Image, dict[str, Image.Image]]]:
    """`count` originals of a kind with their look-alikes (a photo's: none)."""
    family = KINDS[kind]
    if family is None:
        for k in range(count):
            with Image.open(ukbench / f"ukbench{4 * k:05d}.jpg") as photo:
                yield photo.convert("RGB"), {}
        return
    make = lookalikes.FAMILIES[family]
    for number in range(count):
        yield make(np.random.default_rng([seed, list(KINDS).index(kind), number]))


def original_bytes(kind: str, image: Image.Image) -> tuple[str, bytes]:
    """A photo as a camera keeps it (JPEG 92), a drawn page or screen as an app exports it (PNG)."""
    return ("jpg", saved(image, "JPEG", quality=92)) if kind == "photos" else ("png", saved(image, "PNG"))


class Namer:
    """Neutral, shuffled file names: the order and the names say nothing of the groups."""

    def __init__(self, seed: int, total: int) -> None:
        self.numbers = iter(np.random.default_rng([seed, 99]).permutation(total * 2))

    def __call__(self, suffix: str) -> str:
        return f"IMG_{next(self.numbers):05d}.{suffix}"


def copies_of(kind: str, number: int, image: Image.Image, seed: int, name: Namer) -> list[Row]:
    suffix, data = original_bytes(kind, image)
    group, where = f"{kind}-{number:03d}", f"{kind} {half_of(number)}"
    rows: list[Row] = [(name(suffix), group, "original", data, image.size, where)]
    for k, (copy_type, make) in enumerate(COPY_TYPES.items()):
        rng = np.random.default_rng([seed, list(KINDS).index(kind), number, k])
        fmt, copy = make(image, rng)
        if copy_type == "byte":
            fmt, copy = suffix, data
        with Image.open(io.BytesIO(copy)) as opened:
            size = opened.size
        rows.append((name(fmt), group, copy_type, copy, size, where))
    return rows


def burst(image: Image.Image, size: int, number: int, name: Namer) -> list[Row]:
    """One photo saved `size` ways: JPEG qualities from 50 to 95 at full, 3/4 and half size."""
    group, where = f"burst{size}-{number:03d}", f"photos {half_of(number)}"
    rows: list[Row] = []
    for k in range(size):
        scale = (1.0, 0.75, 0.5)[k % 3]
        quality = 50 + (k * 7) % 46
        shown = image if scale == 1.0 else image.resize((round(image.width * scale), round(image.height * scale)))
        rows.append((name("jpg"), group, "burst", saved(shown, "JPEG", quality=quality), shown.size, where))
    return rows


def person_rows(seed: int, per_kind: int, distinct: int, ukbench: Path) -> list[Row]:
    name = Namer(seed, 5 * (per_kind + distinct) * (len(COPY_TYPES) + 1) + sum(BURST_SIZES) * 2)
    rows: list[Row] = []
    for kind in KINDS:
        for number, (image, _) in enumerate(originals(kind, per_kind + distinct, seed, ukbench)):
            if number < per_kind:
                rows += copies_of(kind, number, image, seed, name)
            else:
                suffix, data = original_bytes(kind, image)
                where = f"{kind} {half_of(number)}"
                rows.append((name(suffix), f"{kind}-{number:03d}", "distinct", data, image.size, where))
    # Bursts: photos after the ones above (ukbench800 objects not used yet), two of each size (one per half).
    start = per_kind + distinct
    photos = list(originals("photos", start + 2 * len(BURST_SIZES), seed, ukbench))[start:]
    for k, size in enumerate(BURST_SIZES):
        for h in range(2):
            rows += burst(photos[2 * k + h][0], size, 2 * k + h, name)
    return rows


def lookalike_rows(seed: int, per_kind: int) -> list[Row]:
    name = Namer(seed + 1, per_kind * 4 * 20)
    rows: list[Row] = []
    for kind, family in KINDS.items():
        if family is None:
            continue
        for number, (image, others) in enumerate(originals(kind, per_kind, seed + 1, Path())):
            where = f"{kind} {half_of(number)}"
            suffix, data = original_bytes(kind, image)
            rows.append((name(suffix), f"{kind}-{number:03d}", "original", data, image.size, where))
            for k, (which, other) in enumerate(others.items()):
                group = f"{kind}-{number:03d}-{which}"
                suffix, data = original_bytes(kind, other)
                rows.append((name(suffix), group, which, data, other.size, where))
                if k % 2 == 0:  # half of the look-alikes with a copy: a JPEG 70 or a half-size one
                    copy = other if (number + k) % 4 else lookalikes.half(other, np.random.default_rng(0))
                    quality = 70 if (number + k) % 4 else 92
                    rows.append((name("jpg"), group, f"{which} copy", saved(copy, "JPEG", quality=quality),
                                 copy.size, where))  # fmt: skip
    return rows


def stamp(which: str, seed: int, per_kind: int, distinct: int) -> dict:
    return {"version": VERSION, "set": which, "seed": seed, "per_kind": per_kind, "distinct": distinct}


def ensure_built(root: Path, which: str, ukbench: Path, seed: int = 0, per_kind: int = 8, distinct: int = 16) -> Path:
    """The set in `root` (built once; rebuilt when the stamp changes)."""
    if which == "person" and not ukbench.is_dir():
        raise FileNotFoundError(
            f"{ukbench}: ukbench800 is needed for the person's folder's photos (see ../shared/datasets/README)"
        )

    def build() -> None:
        rows = person_rows(seed, per_kind, distinct, ukbench) if which == "person" else lookalike_rows(seed, per_kind)
        write_set(root, rows, stamp(which, seed, per_kind, distinct))

    ensure(root, stamp(which, seed, per_kind, distinct), build)
    return root
