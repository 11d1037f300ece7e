"""Look-alikes and copies, drawn with Pillow, to measure a verifier that tells them apart (issue 39).

A look-alike is a different image that a template makes almost identical to another:
- invoices of one template: the next invoice number, another date, another amount due, or another
  invoice altogether (customer, items, every field);
- settings screens of one app: one toggle flipped, or another user's name;
- line charts of one style: one point moved;
- products on white: another product of the same shop's kind.
Each look-alike is also made a JPEG at quality 70 and half size (a look-alike's copy is still a
look-alike of the original).

A copy is the same image kept another way (COPIES): JPEG at 50, 70 and 95, half size, a 1024-pixel
messenger copy, PNG, WebP, border crops of 5, 10 and 20 % of each side's length, the image shown in a
window and captured, grayscale, a caption along the top or bottom, a watermark in a corner, and a
caption across the middle. Copies are made of the drawn originals and of real photos
(ukbench800's first view of each object, read in place).

Everything is seeded: `pairs(...)` gives the same pairs on any machine with the pinned Pillow and
matplotlib's DejaVu fonts.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from experiments.data.generated import font, screenshot, word

MONTHS = "January February March April May June July August September October November December".split()


# -- invoices -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceTemplate:
    company: str
    street: str
    accent: tuple[int, int, int]


def invoice_template(rng: np.random.Generator) -> InvoiceTemplate:
    accent = tuple(int(v) for v in rng.integers(20, 160, 3))
    return InvoiceTemplate(
        f"{word(rng).title()} {word(rng).title()} Ltd",
        f"{int(rng.integers(1, 200))} {word(rng).title()} Street",
        accent,
    )


def invoice_fields(rng: np.random.Generator) -> dict:
    items = [
        (f"{word(rng)} {word(rng)}", int(rng.integers(1, 20)), round(float(rng.uniform(2, 400)), 2))
        for _ in range(int(rng.integers(3, 7)))
    ]
    return {
        "number": int(rng.integers(1000, 99999)),
        "date": (int(rng.integers(1, 28)), int(rng.integers(0, 12)), int(rng.integers(2019, 2027))),
        "customer": f"{word(rng).title()} {word(rng).title()}",
        "city": f"{int(rng.integers(1000, 99999))} {word(rng).title()}",
        "items": items,
        "due": round(sum(q * p for _, q, p in items), 2),
    }


def invoice(template: InvoiceTemplate, fields: dict) -> Image.Image:
    width, height = 1000, 1294
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, width, 24), fill=template.accent)
    draw.text((60, 60), template.company, font=font(34, "bold"), fill=template.accent)
    draw.text((60, 110), template.street, font=font(18), fill=(80, 80, 80))
    draw.text((700, 60), "INVOICE", font=font(40, "bold"), fill=(40, 40, 40))
    day, month, year = fields["date"]
    draw.text((640, 130), f"Invoice No.  INV-{fields['number']:05d}", font=font(18), fill="black")
    draw.text((640, 162), f"Date  {day} {MONTHS[month]} {year}", font=font(18), fill="black")
    draw.text((60, 220), "Bill to", font=font(18, "bold"), fill="black")
    draw.text((60, 250), fields["customer"], font=font(18), fill="black")
    draw.text((60, 278), fields["city"], font=font(18), fill="black")
    top, row = 360, 40
    columns = (60, 560, 680, 820)
    draw.rectangle((50, top, width - 50, top + row), fill=(235, 235, 235))
    for x, title in zip(columns, ("Description", "Qty", "Unit price", "Amount")):
        draw.text((x, top + 10), title, font=font(17, "bold"), fill="black")
    for k, (name, qty, price) in enumerate(fields["items"]):
        y = top + (k + 1) * row + 10
        for x, text in zip(columns, (name, str(qty), f"{price:,.2f}", f"{qty * price:,.2f}")):
            draw.text((x, y), text, font=font(17), fill="black")
        draw.line((50, top + (k + 2) * row, width - 50, top + (k + 2) * row), fill=(210, 210, 210))
    y = top + 8 * row
    draw.text((560, y), "Amount due", font=font(20, "bold"), fill="black")
    draw.text((780, y), f"{fields['due']:,.2f} EUR", font=font(20, "bold"), fill="black")
    draw.text((60, height - 140), "Payment within 30 days of the invoice date.", font=font(15), fill=(90, 90, 90))
    draw.text(
        (60, height - 115),
        f"IBAN DE{template.street[:2].encode().hex()} 0400 1234 5678",
        font=font(15),
        fill=(90, 90, 90),
    )
    return page


def invoice_family(rng: np.random.Generator) -> tuple[Image.Image, dict[str, Image.Image]]:
    template = invoice_template(rng)
    fields = invoice_fields(rng)
    day, month, year = fields["date"]
    return invoice(template, fields), {
        "next_number": invoice(template, {**fields, "number": fields["number"] + 1}),
        "other_date": invoice(template, {**fields, "date": (day % 27 + 1, month, year)}),
        "other_amount": invoice(template, {**fields, "due": round(fields["due"] + float(rng.uniform(1, 90)), 2)}),
        "other_invoice": invoice(template, invoice_fields(rng)),
    }


# -- settings screens -----------------------------------------------------------------------------


def settings_screen(labels: list[str], states: list[bool], user: str, accent: tuple[int, int, int]) -> Image.Image:
    width, height = 720, 1280
    screen = Image.new("RGB", (width, height), (242, 242, 247))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, width, 120), fill="white")
    draw.text((40, 50), "Settings", font=font(40, "bold"), fill="black")
    draw.rounded_rectangle((30, 150, width - 30, 270), radius=18, fill="white")
    draw.ellipse((50, 170, 130, 250), fill=accent)
    draw.text((76, 190), user[:1], font=font(36, "bold"), fill="white")
    draw.text((150, 185), user, font=font(28), fill="black")
    draw.text((150, 225), "Account, privacy, devices", font=font(18), fill=(120, 120, 120))
    top, row = 310, 86
    draw.rounded_rectangle((30, top, width - 30, top + row * len(labels)), radius=18, fill="white")
    for k, (label, on) in enumerate(zip(labels, states)):
        y = top + k * row
        draw.text((60, y + 28), label, font=font(26), fill="black")
        track = (width - 150, y + 24, width - 60, y + 62)
        draw.rounded_rectangle(track, radius=19, fill=(52, 199, 89) if on else (220, 220, 224))
        knob = track[2] - 38 if on else track[0] + 2
        draw.ellipse((knob, y + 26, knob + 34, y + 60), fill="white", outline=(200, 200, 200))
        if k < len(labels) - 1:
            draw.line((60, y + row, width - 30, y + row), fill=(225, 225, 230), width=2)
    return screen


def settings_family(rng: np.random.Generator) -> tuple[Image.Image, dict[str, Image.Image]]:
    labels = [f"{word(rng).title()} {word(rng)}" for _ in range(int(rng.integers(8, 11)))]
    states = [bool(s) for s in rng.integers(0, 2, len(labels))]
    accent = tuple(int(v) for v in rng.integers(20, 200, 3))
    user = f"{word(rng).title()} {word(rng).title()}"
    flipped = list(states)
    k = int(rng.integers(0, len(states)))
    flipped[k] = not flipped[k]
    return settings_screen(labels, states, user, accent), {
        "one_toggle": settings_screen(labels, flipped, user, accent),
        "other_user": settings_screen(labels, states, f"{word(rng).title()} {word(rng).title()}", accent),
    }


# -- line charts ----------------------------------------------------------------------------------


def line_chart(values: np.ndarray, title: str, colour: tuple[int, int, int]) -> Image.Image:
    width, height = 800, 500
    chart = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(chart)
    left, right, top, bottom = 80, width - 30, 60, height - 60
    draw.text((left, 18), title, font=font(22, "bold"), fill="black")
    low, high = 0.0, 100.0
    for k in range(6):
        y = bottom - k * (bottom - top) / 5
        draw.line((left, y, right, y), fill=(225, 225, 225))
        draw.text((20, y - 9), f"{low + k * (high - low) / 5:.0f}", font=font(15), fill=(80, 80, 80))
    xs = [left + k * (right - left) / (len(values) - 1) for k in range(len(values))]
    ys = [bottom - (v - low) / (high - low) * (bottom - top) for v in values]
    for k, x in enumerate(xs):
        draw.text((x - 8, bottom + 10), MONTHS[k % 12][:3], font=font(13), fill=(80, 80, 80))
    draw.line((left, top, left, bottom), fill="black", width=2)
    draw.line((left, bottom, right, bottom), fill="black", width=2)
    draw.line(list(zip(xs, ys)), fill=colour, width=3)
    for x, y in zip(xs, ys):
        draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=colour)
    return chart


def chart_family(rng: np.random.Generator) -> tuple[Image.Image, dict[str, Image.Image]]:
    n = int(rng.integers(8, 13))
    values = np.clip(50 + np.cumsum(rng.normal(0, 8, n)), 5, 95)
    title = f"{word(rng).title()} {word(rng)} per month"
    colour = tuple(int(v) for v in rng.integers(0, 180, 3))
    moved = values.copy()
    k = int(rng.integers(0, n))
    moved[k] = float(np.clip(moved[k] + rng.choice([-1, 1]) * rng.uniform(10, 25), 0, 100))
    return line_chart(values, title, colour), {"one_point": line_chart(moved, title, colour)}


# -- products on white ----------------------------------------------------------------------------


def product(rng: np.random.Generator, shape: str) -> Image.Image:
    side = 800
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    colour = tuple(int(v) for v in rng.integers(0, 220, 3))
    w, h = int(rng.integers(220, 320)), int(rng.integers(380, 520))
    x0, y0 = (side - w) // 2, (side - h) // 2 + 40
    if shape == "bottle":
        draw.rounded_rectangle((x0, y0, x0 + w, y0 + h), radius=40, fill=colour)
        draw.rectangle((side // 2 - 35, y0 - 110, side // 2 + 35, y0 + 5), fill=colour)
        draw.rectangle((side // 2 - 40, y0 - 140, side // 2 + 40, y0 - 105), fill=(40, 40, 40))
    else:
        draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        draw.polygon([(x0, y0), (x0 + 40, y0 - 40), (x0 + w + 40, y0 - 40), (x0 + w, y0)], fill=colour)
    draw.rectangle((x0 + 20, y0 + h // 3, x0 + w - 20, y0 + h // 3 + 120), fill="white")
    draw.text((x0 + 35, y0 + h // 3 + 20), word(rng).title(), font=font(34, "bold"), fill=colour)
    draw.text((x0 + 35, y0 + h // 3 + 70), f"{int(rng.integers(100, 1000))} ml", font=font(22), fill=(60, 60, 60))
    draw.ellipse((side // 2 - 200, side - 70, side // 2 + 200, side - 40), fill=(235, 235, 235))
    return image


def product_family(rng: np.random.Generator) -> tuple[Image.Image, dict[str, Image.Image]]:
    shape = str(rng.choice(["bottle", "box"]))
    return product(rng, shape), {"other_product": product(rng, shape)}


FAMILIES: dict[str, Callable[[np.random.Generator], tuple[Image.Image, dict[str, Image.Image]]]] = {
    "invoices": invoice_family,
    "settings": settings_family,
    "charts": chart_family,
    "products": product_family,
}


# -- copies ---------------------------------------------------------------------------------------


def encoded(image: Image.Image, fmt: str, **options) -> Image.Image:
    """The image as a file of that format would give it back."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def jpeg(quality: int) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    return lambda im, rng: encoded(im, "JPEG", quality=quality)


def half(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def messenger(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """What a messenger sends: the longest side at most 1024 pixels, JPEG at quality 80."""
    return encoded(ImageOps.contain(image, (1024, 1024), Image.Resampling.BILINEAR), "JPEG", quality=80)


def border_crop(share: float) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    """`share` of the width and of the height cut away, split at random between the two sides."""

    def crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = image.size
        left, top = float(rng.uniform(0, share)), float(rng.uniform(0, share))
        box = (round(w * left), round(h * top), round(w * (1 - share + left)), round(h * (1 - share + top)))
        return encoded(image.crop(box), "JPEG", quality=90)

    return crop


def caption(where: str) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    """Two words in white with a black outline, a tenth of the height, as a meme or a post adds."""

    def draw_caption(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        out = image.copy()
        size = max(14, image.height // 10)
        text = f"{word(rng)} {word(rng)}".upper()
        x = int(rng.integers(0, image.width // 4))
        band = {"top": (0.02, 0.06), "bottom": (0.82, 0.86), "middle": (0.42, 0.5)}[where]
        y = int(image.height * rng.uniform(*band))
        ImageDraw.Draw(out).text(
            (x, y), text, font=font(size, "bold"), fill="white", stroke_width=max(2, size // 12), stroke_fill="black"
        )
        return encoded(out, "JPEG", quality=90)

    return draw_caption


def watermark(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A half-transparent signature in the bottom-right corner."""
    out = image.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    size = max(12, image.height // 18)
    face = font(size, "bold")
    text = f"\u00a9 {word(rng)} 2026"
    draw = ImageDraw.Draw(layer)
    width = draw.textlength(text, font=face)
    position = (image.width - width - image.width * 0.03, image.height - size * 1.6)
    draw.text(position, text, font=face, fill=(255, 255, 255, 140), stroke_width=1, stroke_fill=(0, 0, 0, 140))
    return encoded(Image.alpha_composite(out, layer).convert("RGB"), "JPEG", quality=90)


COPIES: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    "jpeg50": jpeg(50),
    "jpeg70": jpeg(70),
    "jpeg95": jpeg(95),
    "half": half,
    "messenger": messenger,
    "png": lambda im, rng: encoded(im, "PNG"),
    "webp": lambda im, rng: encoded(im, "WEBP", quality=80),
    "crop5": border_crop(0.05),
    "crop10": border_crop(0.10),
    "crop20": border_crop(0.20),
    "window": lambda im, rng: screenshot(im, rng)[0],
    "grayscale": lambda im, rng: im.convert("L").convert("RGB"),
    "caption": lambda im, rng: caption(str(rng.choice(["top", "bottom"])))(im, rng),
    "watermark": watermark,
    "caption_middle": caption("middle"),
}
LOOKALIKE_COPIES = {"": lambda im, rng: im, "+jpeg70": jpeg(70), "+half": half}


@dataclass(frozen=True)
class Pair:
    family: str  # invoices, settings, charts, products, photos
    number: int  # the original's number in its family: even numbers choose the rule, odd ones report it
    kind: str  # the copy type or the look-alike's kind
    copy: bool  # the truth
    a: Image.Image
    b: Image.Image

    @property
    def half(self) -> str:
        return "choose" if self.number % 2 == 0 else "report"


def photo_originals(folder: Path, count: int) -> Iterator[tuple[Image.Image, Image.Image]]:
    """ukbench800's first view of `count` objects and their second view (another photo of the same object)."""
    for k in range(count):
        first, second = (folder / f"ukbench{4 * k + v:05d}.jpg" for v in (0, 1))
        with Image.open(first) as one, Image.open(second) as two:
            yield one.convert("RGB"), two.convert("RGB")


def copies_of(family: str, number: int, original: Image.Image, seed: int) -> Iterator[Pair]:
    for k, (name, make) in enumerate(COPIES.items()):
        yield Pair(family, number, name, True, original, make(original, np.random.default_rng([seed, number, k])))


def pairs(per_family: int = 10, photos: int = 20, seed: int = 0, ukbench: Path | None = None) -> Iterator[Pair]:
    """Every copy and look-alike pair of `per_family` drawn originals of each family and of `photos`
    ukbench800 photos (when its folder is given)."""
    for f, (family, make) in enumerate(FAMILIES.items()):
        for number in range(per_family):
            rng = np.random.default_rng([seed, f, number])
            original, lookalikes = make(rng)
            yield from copies_of(family, number, original, seed)
            for kind, lookalike in lookalikes.items():
                for suffix, make_copy in LOOKALIKE_COPIES.items():
                    yield Pair(family, number, kind + suffix, False, original, make_copy(lookalike, rng))
    if ukbench is not None:
        for number, (first, second) in enumerate(photo_originals(ukbench, photos)):
            yield from copies_of("photos", number, first, seed)
            yield Pair("photos", number, "other_view", False, first, second)
