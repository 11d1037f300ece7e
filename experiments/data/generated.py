"""Data sets of other kinds than photos, drawn by seeded generators (issue 21): rendered documents and
screenshots of them, and charts. Each has true duplicates and true negatives of the same kind:

- `distinct` originals, every one different (its own text or data), all in one style, so that
  unrelated images look alike as they do in a real folder of pages or plots;
- for the first `with_copies` of them, copies in the original's group: a JPEG re-encode (quality 60),
  a half-size resize, a crop of the margins, a screenshot of it (the image inside a window with a
  title bar, scaled), and a small edit (a highlight and a note drawn on it).

Fonts are matplotlib's DejaVu (shipped with it), so the pages look the same on any machine with the
pinned Pillow and matplotlib; the committed manifest lists every file's sha256
(`python -m experiments.data check documents`). Built once into the set's folder, rebuilt when the
generator's version, the seed or the counts change.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from experiments.data.built import ensure, write_set

GENERATOR_VERSION = 1
SYLLABLES = (
    "ka ro mi ta ne lo su vi da pe ri mo ge la tu ni so be fa co de li ma no pa ra se te vo "
    "an en in on ul ar er ir or ex al el il ol is as us"
).split()


def font(size: int, style: str = "") -> ImageFont.FreeTypeFont:
    import matplotlib

    name = {
        "": "DejaVuSans.ttf",
        "bold": "DejaVuSans-Bold.ttf",
        "serif": "DejaVuSerif.ttf",
        "mono": "DejaVuSansMono.ttf",
    }[style]
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(SYLLABLES, size=int(rng.integers(1, 4))))


def sentence(rng: np.random.Generator, words: int) -> str:
    text = " ".join(word(rng) for _ in range(words))
    return text[:1].upper() + text[1:] + "."


def wrapped(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for token in text.split():
        trial = f"{line} {token}".strip()
        if draw.textlength(trial, font=face) <= width:
            line = trial
        else:
            lines.append(line)
            line = token
    return [*lines, line] if line else lines


def document(rng: np.random.Generator) -> Image.Image:
    """A page of a report: a title, a date line, paragraphs, sometimes a bullet list or a table; one
    or two columns; one of three body fonts."""
    width, height = 850, 1100
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    style = str(rng.choice(["", "serif", "mono"]))
    body = font(int(rng.integers(15, 19)), style)
    margin = int(rng.integers(60, 90))
    draw.text((margin, margin), sentence(rng, int(rng.integers(3, 7)))[:-1], font=font(30, "bold"), fill="black")
    draw.text(
        (margin, margin + 46),
        f"Report {int(rng.integers(1, 999))} - {word(rng)} {int(rng.integers(1, 29))}, 20{int(rng.integers(10, 27))}",
        font=font(14),
        fill=(90, 90, 90),
    )
    columns = int(rng.choice([1, 1, 2]))
    gap = 30
    column_width = (width - 2 * margin - (columns - 1) * gap) // columns
    line_height = int(body.size * 1.45)
    x, y, top = margin, margin + 90, margin + 90
    while True:
        kind = rng.choice(["paragraph", "paragraph", "paragraph", "bullets", "table"])
        if kind == "paragraph":
            lines = wrapped(
                draw,
                " ".join(sentence(rng, int(rng.integers(6, 16))) for _ in range(int(rng.integers(2, 6)))),
                body,
                column_width,
            )
        elif kind == "bullets":
            lines = [f"\u2022 {sentence(rng, int(rng.integers(3, 8)))}" for _ in range(int(rng.integers(3, 6)))]
        else:
            lines = []
        block = len(lines) * line_height if lines else 5 * line_height
        if y + block > height - margin:
            if columns == 2 and x == margin:
                x, y = margin + column_width + gap, top
                continue
            break
        if kind == "table":
            cells = int(rng.integers(3, 5))
            cell = column_width // cells
            for r in range(5):
                for c in range(cells):
                    box = (x + c * cell, y + r * line_height, x + (c + 1) * cell, y + (r + 1) * line_height)
                    draw.rectangle(box, outline=(120, 120, 120), fill=(235, 235, 235) if r == 0 else None)
                    label = word(rng) if r == 0 or c == 0 else f"{rng.normal(50, 20):.1f}"
                    draw.text((box[0] + 4, box[1] + 3), label[:10], font=body, fill="black")
        else:
            for line in lines:
                draw.text((x, y), line, font=body, fill=(20, 20, 20))
                y += line_height
            y -= len(lines) * line_height
        y += block + line_height
    draw.text((width // 2 - 10, height - margin // 2), str(int(rng.integers(1, 300))), font=font(13), fill=(90, 90, 90))
    return page


def chart(rng: np.random.Generator) -> Image.Image:
    """A chart as a notebook or a report draws one: lines, bars or points of seeded data, one style."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    axes = figure.add_subplot()
    kind = rng.choice(["line", "line", "bar", "scatter"])
    n = int(rng.integers(8, 40))
    series = int(rng.integers(1, 4))
    for s in range(series):
        values = np.cumsum(rng.normal(0, 1, n)) + rng.normal(0, 5)
        if kind == "line":
            axes.plot(np.arange(n), values, label=word(rng))
        elif kind == "bar":
            axes.bar(np.arange(n) + s * 0.8 / series, np.abs(values) + 1, width=0.8 / series, label=word(rng))
        else:
            axes.scatter(rng.normal(0, 1, n * 3), rng.normal(0, 1, n * 3) + s, s=12, label=word(rng))
    axes.set_title(sentence(rng, int(rng.integers(2, 5)))[:-1])
    axes.set_xlabel(word(rng))
    axes.set_ylabel(word(rng))
    if series > 1:
        axes.legend(loc="best")
    if rng.integers(0, 2):
        axes.grid(True, alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


GENERATORS: dict[str, Callable[[np.random.Generator], Image.Image]] = {"documents": document, "charts": chart}


def screenshot(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """The image shown in a window (title bar, border, desktop around it), scaled, as a screen grab."""
    scale = float(rng.choice([0.6, 0.75]))
    shown = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
    bar = 32
    window = Image.new("RGB", (shown.width + 4, shown.height + bar + 4), (60, 60, 66))
    window.paste(shown, (2, bar + 2))
    draw = ImageDraw.Draw(window)
    draw.text((12, 8), f"{word(rng)}.png - viewer", font=font(14), fill="white")
    for k, colour in enumerate(["#ff5f57", "#febc2e", "#28c840"]):
        draw.ellipse((window.width - 70 + k * 20, 10, window.width - 58 + k * 20, 22), fill=colour)
    desktop = Image.new(
        "RGB", (window.width + 120, window.height + 100), tuple(int(v) for v in rng.integers(40, 200, 3))
    )
    desktop.paste(window, (60, 40))
    return desktop, f"screenshot: shown at {scale:.0%} in a window"


def small_edit(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    out = image.copy()
    draw = ImageDraw.Draw(out, "RGBA")
    w, h = out.size
    x, y = int(rng.integers(w // 10, w // 2)), int(rng.integers(h // 10, h * 3 // 4))
    draw.rectangle((x, y, x + w // 3, y + h // 30), fill=(255, 235, 0, 90))
    draw.text((x, y + h // 25), "check this", font=font(max(12, h // 50)), fill=(200, 0, 0))
    return out, f"highlight and a note at ({x},{y})"


def crop_margins(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    w, h = image.size
    cut = float(rng.uniform(0.04, 0.08))
    box = (round(w * cut), round(h * cut), round(w * (1 - cut)), round(h * (1 - cut)))
    return image.crop(box), f"{cut:.0%} cropped from each side"


# Each copy: how it is made and how it is saved (format, quality).
COPIES: dict[str, tuple[Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]], str, int]] = {
    "jpeg60": (lambda im, rng: (im, "JPEG quality 60"), "JPEG", 60),
    "half": (
        lambda im, rng: (im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), "half size"),
        "PNG",
        0,
    ),
    "crop": (crop_margins, "JPEG", 90),
    "screenshot": (screenshot, "PNG", 0),
    "edit": (small_edit, "JPEG", 90),
}


def encoded(image: Image.Image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, format="JPEG", quality=quality)
    else:
        image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def stamp(generator: str, seed: int, distinct: int, with_copies: int) -> dict:
    return {"generator_version": GENERATOR_VERSION, "generator": generator, "seed": seed,
            "distinct": distinct, "with_copies": with_copies}  # fmt: skip


def _one(generator: str, number: int, seed: int, with_copies: bool) -> list[list]:
    rng = np.random.default_rng([seed, number])
    original = GENERATORS[generator](rng)
    group = f"{generator[:-1]}{number:04d}"
    rows = [[f"{group}/original.png", group, "original", encoded(original, "PNG", 0), original.size, "generated"]]
    if with_copies:
        for k, (name, (make, fmt, quality)) in enumerate(COPIES.items()):
            copy, how = make(original, np.random.default_rng([seed, number, k]))
            suffix = "jpg" if fmt == "JPEG" else "png"
            rows.append([f"{group}/{name}.{suffix}", group, name, encoded(copy, fmt, quality), copy.size, how])
    return rows


def build(root: Path, generator: str, seed: int, distinct: int, with_copies: int, workers: int = 2) -> None:
    with ThreadPoolExecutor(workers) as pool:
        made = list(pool.map(lambda n: _one(generator, n, seed, n < with_copies), range(distinct)))
    write_set(root, [row for rows in made for row in rows], stamp(generator, seed, distinct, with_copies))


def ensure_built(root: Path, generator: str, seed: int, distinct: int, with_copies: int) -> None:
    ensure(
        root,
        stamp(generator, seed, distinct, with_copies),
        lambda: build(root, generator, seed, distinct, with_copies),
    )


def preview(generator: str, out: Path, seed: int = 0) -> None:
    """One original and its copies side by side, to look at."""
    rows = _one(generator, 0, seed, True)
    images = [ImageOps.contain(Image.open(io.BytesIO(r[3])).convert("RGB"), (300, 300)) for r in rows]
    sheet = Image.new("RGB", (310 * len(images), 310), "gray")
    for k, image in enumerate(images):
        sheet.paste(image, (310 * k, 0))
    sheet.save(out)
