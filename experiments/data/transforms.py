"""Image transforms for the resilience matrix (Experiment 2's controlled half).

An op is a function `(image, severity, rng) -> image`, registered by name here; a family in the
config (conf/experiment/transforms.yaml) names an op, its severities and any fixed parameters, so a
new family of an existing op needs no code. Every random choice comes from `rng`, seeded per
(seed, family, severity, image): the same seed gives byte-identical variants.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from dupbench.errors import DupbenchError

Op = Callable[..., Image.Image]
OPS: dict[str, Op] = {}


def op(name: str) -> Callable[[Op], Op]:
    def decorate(fn: Op) -> Op:
        OPS[name] = fn
        return fn

    return decorate


@op("identity")
def identity(image: Image.Image, severity: float, rng: np.random.Generator) -> Image.Image:
    return image.copy()


@op("rotate")
def rotate(image: Image.Image, degrees: float, rng: np.random.Generator) -> Image.Image:
    """Rotation about the centre, either way, same size, corners filled black."""
    sign = 1 if rng.random() < 0.5 else -1
    return image.rotate(sign * float(degrees), resample=Image.Resampling.BICUBIC)


@op("crop")
def crop(image: Image.Image, percent_area: float, rng: np.random.Generator) -> Image.Image:
    """Remove `percent_area` % of the area, keeping the aspect ratio, at a random position."""
    keep = np.sqrt(1 - float(percent_area) / 100)
    w, h = image.size
    cw, ch = max(1, round(w * keep)), max(1, round(h * keep))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return image.crop((x0, y0, x0 + cw, y0 + ch))


@op("scale")
def scale(image: Image.Image, factor: float, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    return image.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BICUBIC)


@op("aspect")
def aspect(image: Image.Image, width_factor: float, rng: np.random.Generator) -> Image.Image:
    """Stretch or squeeze horizontally: the aspect ratio changes by `width_factor`."""
    w, h = image.size
    return image.resize((max(1, round(w * width_factor)), h), Image.Resampling.BICUBIC)


@op("hflip")
def hflip(image: Image.Image, severity: float, rng: np.random.Generator) -> Image.Image:
    return ImageOps.mirror(image)


def _perspective_coefficients(source: np.ndarray, target: np.ndarray) -> list[float]:
    """The 8 coefficients PIL's PERSPECTIVE transform takes, mapping output `target` corners back to `source`."""
    rows = []
    for (x, y), (u, v) in zip(target, source):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.array(rows, dtype=np.float64), source.reshape(8)).tolist()


@op("perspective")
def perspective(image: Image.Image, strength: float, rng: np.random.Generator) -> Image.Image:
    """A 3D projection: each corner moves inward by up to `strength` of the side, at random."""
    w, h = image.size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)
    moved = corners + inward * rng.uniform(0, float(strength), size=(4, 2)) * [w, h]
    coefficients = _perspective_coefficients(corners, moved)
    return image.transform((w, h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC)


@op("jpeg")
def jpeg(image: Image.Image, quality: float, rng: np.random.Generator) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


@op("brightness")
def brightness(image: Image.Image, factor: float, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(float(factor))


@op("contrast")
def contrast(image: Image.Image, factor: float, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Contrast(image).enhance(float(factor))


@op("gamma")
def gamma(image: Image.Image, value: float, rng: np.random.Generator) -> Image.Image:
    table = [round(255 * (i / 255) ** float(value)) for i in range(256)] * 3
    return image.point(table)


@op("blur")
def blur(image: Image.Image, radius: float, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(float(radius)))


@op("noise")
def noise(image: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float64) + rng.normal(0, float(sigma), size=(image.height, image.width, 3))
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


@op("grayscale")
def grayscale(image: Image.Image, severity: float, rng: np.random.Generator) -> Image.Image:
    return image.convert("L").convert("RGB")


@op("overlay")
def overlay(
    image: Image.Image, height_fraction: float, rng: np.random.Generator, text: str = "dupbench (c) 2026"
) -> Image.Image:
    """A watermark: white text with a dark outline, `height_fraction` of the image high, placed at random."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    size = max(6, round(image.height * float(height_fraction)))
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=max(1, size // 12))
    x = int(rng.integers(0, max(1, image.width - (right - left)) + 1))
    y = int(rng.integers(0, max(1, image.height - (bottom - top)) + 1))
    draw.text((x - left, y - top), text, font=font, fill="white", stroke_width=max(1, size // 12), stroke_fill="black")
    return out


def family_rng(seed: int, family: str, severity: float, index: int) -> np.random.Generator:
    """Independent of the order families are run in: keyed by their names, not by position."""
    return np.random.default_rng([seed, zlib.crc32(family.encode()), zlib.crc32(repr(float(severity)).encode()), index])


def apply(
    spec: Mapping[str, Any], family: str, image: Image.Image, severity: float, seed: int, index: int
) -> Image.Image:
    """One variant of `image`: the family's op at `severity`, with the family's fixed parameters."""
    name = spec.get("op", family)
    if name not in OPS:
        raise DupbenchError(f"transform family {family!r}: unknown op {name!r}; valid: {', '.join(sorted(OPS))}")
    extra = {k: v for k, v in spec.items() if k not in ("op", "severities")}
    result = OPS[name](image, severity, family_rng(seed, family, severity, index), **extra)
    return result.convert("RGB")
