"""`--html DIR`: one self-contained page (thumbnails inlined as data: URLs) that opens from disk,
without a server: a contact sheet per group, largest groups first, the best copy marked, each
image with its score against the best copy, its size in pixels and bytes, and its path."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from PIL import Image, ImageOps

from dupbench.files import atomic_write_text

THUMB = 160
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } .meta { color: #555; font-size: 0.9em; }
section.group { border: 1px solid #ccc; border-radius: 6px; margin: 1em 0; padding: 0.6em 0.8em; }
section.group h2 { font-size: 1em; margin: 0 0 0.5em 0; }
.sheet { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; width: 172px; font-size: 0.75em; word-break: break-all; }
figure img { width: 160px; height: 160px; object-fit: contain; background: #f3f3f3; border: 3px solid transparent; }
figure.best img { border-color: #2a8a2a; } figure.best figcaption b { color: #2a8a2a; }
"""


def thumbnail_jpeg(path: Path, side: int) -> bytes:
    """A JPEG at most `side` pixels a side, as shown (EXIF turn applied); b"" for a file that cannot be read.
    The static report's and the review page's thumbnails."""
    try:
        with Image.open(path) as image:
            image.draft("RGB", (side, side))
            small = ImageOps.exif_transpose(image).convert("RGB")
            small.thumbnail((side, side))
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=80)
        return out.getvalue()
    except (OSError, ValueError):
        return b""


def thumbnail(path: Path) -> str:
    data = thumbnail_jpeg(path, THUMB)
    return "data:image/jpeg;base64," + base64.b64encode(data).decode() if data else ""


def kept_rule(found, keep: str) -> str:
    """The rule that chose each group's kept copy (find.best_of's), as the page states it."""
    quality = "the most pixels, then the largest file"
    if keep == "first-folder" and len(found.folders) > 1:
        return f"a copy in the earliest of the folders given (first: {found.folders[0]}), then {quality}"
    return quality


def score_words(found, group, i: int) -> str:
    """A copy's score against the kept one, in words with its scale ("pdq distance 2 of 256 bits:
    near-identical"); identical pixels said as such."""
    method, score = found.choice.method, group.scores.get(i, float("nan"))
    if i in group.exact and group.best in group.exact and score == method.perfect_score():
        return "identical pixels to the kept copy"
    return method.score_in_words(score)


def render(found, keep: str = "first-folder") -> str:
    photos, choice = found.photos, found.choice
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>dupbench find</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{len(found.groups)} duplicate groups among {len(photos)} images</h1>",
        f"<p class='meta'>method {html.escape(choice.name)}, threshold {choice.threshold:g} "
        f"({html.escape(choice.threshold_source)}); the copy each group keeps (green, with why): "
        f"{html.escape(kept_rule(found, keep))}. Skipped (not images, unreadable): {len(found.skipped)}.</p>",
    ]
    for number, group in enumerate(found.groups, start=1):
        parts.append(
            f"<section class='group' data-group='{number}' data-kind='{group.kind}'>"
            f"<h2>Group {number}: {len(group.members)} images, {group.kind}</h2><div class='sheet'>"
        )
        order = [group.best] + sorted((i for i in group.members if i != group.best), key=lambda i: str(photos[i].path))
        for i in order:
            photo = photos[i]
            best = i == group.best
            score = html.escape(f"kept: {group.why}" if best else score_words(found, group, i))
            parts.append(
                f"<figure class='{'best' if best else 'copy'}' data-path='{html.escape(str(photo.path))}'>"
                f"<img alt='' src='{thumbnail(photo.path)}'><figcaption><b>{score}</b><br>"
                f"{photo.width}x{photo.height}, {photo.size:,} bytes<br>{html.escape(str(photo.path))}"
                "</figcaption></figure>"
            )
        parts.append("</div></section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(found, folder: Path, keep: str = "first-folder") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "index.html"
    atomic_write_text(page, render(found, keep))
    return page
