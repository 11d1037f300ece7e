"""The original among a group's copies, where the files say so: an upscaled copy has more pixels than its
original and no more detail, so "most pixels" alone keeps the copy (issue 41: two chart groups kept a
re-compressed 1024-pixel copy of the original).

Compared at the smaller size: the larger image (decoded at up to twice the smaller's size) brought down to the
smaller's size and back up loses what it holds beyond that size; an upscaled copy loses almost nothing. That
loss is measured against the smaller image's own, over the same share of its scale (down by the same factor and
back up): a real larger original loses about as much as the smaller (0.56-1.22 on scikit-image's photos, a
chart and a text page, at 1.2-4x, the smaller re-saved as JPEG at 85), an upscaled copy (bicubic, re-saved at
50-85) 0.17-0.40 from 1.5x on. Only a clear case moves the choice: below UPSCALED_BELOW, at least MIN_SCALE
larger, the same shape. An upscaled copy sharpened after (an unsharp mask) keeps 0.26-0.67 and is not told apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

UPSCALED_BELOW = 0.45  # the larger's loss / the smaller's: below this the larger adds no detail
MIN_SCALE = 1.4  # closer, a plain upscale is not told apart either (0.45-0.51 at 1.2x): nothing decoded
SAME_SHAPE = 0.02  # width/height ratios this close: the same picture at two sizes, not a crop
FLAT = 0.5  # grey levels: a smaller image losing less than this has no detail to compare with


def gray_at_most(path: Path, size: tuple[int, int]):
    """The image as gray levels, turned as shown, at `size` (decoded reduced where the format can: a JPEG's
    draft); None when it cannot be read."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            image.draft("L", size)
            gray = ImageOps.exif_transpose(image).convert("L")
        return gray if gray.size == size else gray.resize(size, Image.Resampling.LANCZOS)
    except (OSError, ValueError):
        return None


def loss(image, size: tuple[int, int]) -> float:
    """Mean absolute grey-level difference between the image and itself brought down to `size` and back up."""
    from PIL import Image

    back = image.resize(size, Image.Resampling.LANCZOS).resize(image.size, Image.Resampling.BICUBIC)
    return float(np.mean(np.abs(np.asarray(image, dtype=np.float32) - np.asarray(back, dtype=np.float32))))


def upscaled_from(big, small) -> bool:
    """`big` is an upscaled copy of `small` (two Photos of one group): no more detail than `small` at its size."""
    if not (small.width and small.height and big.height):
        return False
    if abs(big.width / big.height - small.width / small.height) > SAME_SHAPE * small.width / small.height:
        return False
    scale = big.width / small.width
    if scale < MIN_SCALE:
        return False
    scale = min(scale, 2.0)
    size = (small.width, small.height)
    larger = gray_at_most(big.path, (round(scale * small.width), round(scale * small.height)))
    smaller = gray_at_most(small.path, size)
    if larger is None or smaller is None:
        return False
    own = loss(smaller, (max(1, round(small.width / scale)), max(1, round(small.height / scale))))
    return own >= FLAT and loss(larger, size) < UPSCALED_BELOW * own


def original_of(photos: Sequence, best: int, pool: Sequence[int]) -> tuple[int, list[int]]:
    """The copy among `pool` that `best` (the most pixels) was upscaled from, and so on down; (that copy,
    the upscaled ones passed over, largest first). `best` itself when it is no upscaled copy."""
    passed: list[int] = []
    smaller = sorted((i for i in pool if photos[i].pixels < photos[best].pixels), key=lambda i: -photos[i].pixels)
    for i in smaller:
        if photos[i].pixels < photos[best].pixels and upscaled_from(photos[best], photos[i]):
            passed.append(best)
            best = i
    return best, passed


# The sum of libjpeg's luminance quantisation table at quality 50 (as Pillow saves it): a JPEG's own table
# against it gives the quality it was saved at (saved at 30, 50, 70, 85, 95: estimated 29, 50, 70, 85, 95).
IJG_LUMINANCE_SUM = 3688


def camera_and_quality(path: Path) -> tuple[bool, int | None]:
    """(the file carries the camera's EXIF: a make, model or date taken; its JPEG quality, estimated from its
    luminance quantisation table as the IJG scales it, None for another format). Read from the header only."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            exif = image.getexif()
            camera = bool(exif.get(0x010F) or exif.get(0x0110) or exif.get_ifd(0x8769).get(0x9003))
            tables = getattr(image, "quantization", None) if image.format == "JPEG" else None
    except (OSError, ValueError, SyntaxError):
        return False, None
    if not tables or 0 not in tables:
        return camera, None
    scale = 100 * sum(tables[0]) / IJG_LUMINANCE_SUM  # 100 at quality 50; 200 - 2q above, 5000 / q below
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return camera, max(1, min(100, round(quality)))


def richest(photos: Sequence, best: int, pool: Sequence[int]) -> tuple[int, str]:
    """Among the copies of `pool` with `best`'s pixels (other bytes), the one its file says is the original:
    the camera's EXIF over a copy without (a re-save drops it), then the higher JPEG quality; (that copy, the
    words for why), or (`best`, "") when the files say nothing more than the largest file did."""
    tied = [i for i in pool if photos[i].pixels == photos[best].pixels]
    if len({photos[i].sha256 for i in tied}) < 2:
        return best, ""
    facts = {i: camera_and_quality(photos[i].path) for i in tied}
    if any(camera for camera, _ in facts.values()) and not all(camera for camera, _ in facts.values()):
        with_exif = [i for i in tied if facts[i][0]]
        chosen = best if best in with_exif else min(with_exif, key=lambda i: -photos[i].size)
        return chosen, "the camera's EXIF (a copy without it was saved again)"
    qualities = {i: quality for i, (_, quality) in facts.items()}
    if None in qualities.values() or len(set(qualities.values())) < 2:
        return best, ""
    top = max(qualities.values())
    chosen = (
        best if qualities[best] == top else min((i for i in tied if qualities[i] == top), key=lambda i: -photos[i].size)
    )
    lower = min(qualities.values())
    return chosen, f"the higher JPEG quality (about {top}, against {lower})"
