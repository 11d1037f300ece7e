"""The pixel digest of an image with more than one frame (an animated GIF, PNG or WebP, a multi-page
TIFF, a JPEG holding several pictures (MPO)): every frame counts, so two such files are "identical
pixels" only when every frame is the same, not when the first one is (issue 38: two GIFs that differed
from their third frame on were called identical and one was moved away as an exact copy).

Each frame is read as read_rgb reads a still image (EXIF orientation, alpha onto white, 8 bits) and
hashed as it is decoded: a GIF of thousands of frames never sits in memory whole, one frame at a time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image, ImageOps, ImageSequence

from dupbench.errors import UnreadableImage
from dupbench.files import sha256_of
from dupbench.images.read import to_rgb


def has_frames(image: Image.Image) -> bool:
    """More than one frame (Pillow's `is_animated`, also set for multi-page TIFFs and MPO; a GIF's
    answer reads up to its second frame, not all of them as `n_frames` would)."""
    return bool(getattr(image, "is_animated", False))


def frames_digest(path: Path) -> str | None:
    """The sha256 of every frame of `path` in order (each one's size, its display time and its pixels),
    then the number of frames; None for an image of one frame, or one Pillow cannot open (the caller's
    still-image path decides, and names the file if it cannot be read).

    The display time is part of what is compared: the same frames shown at another pace are another
    animation (a slowed-down copy), and calling them identical would let `--move-to` set one aside as an
    exact copy; they stay a near duplicate with their score. A frame that cannot be decoded (a file cut
    short after its first frame) makes a digest of the file's bytes instead: identical only to a byte
    copy, which is already exact by its sha256, never to another file."""
    try:
        image = Image.open(path)
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError):
        return None
    with image:
        try:
            return every_frame(image) if has_frames(image) else None
        except (UnreadableImage, Image.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError):
            pass
    try:
        return hashlib.sha256(b"frames not all decoded: " + sha256_of(path).encode()).hexdigest()
    except OSError:
        return None  # gone since: the still-image path says so


def every_frame(image: Image.Image) -> str:
    digest = hashlib.sha256(b"frames\n")
    count = 0
    for frame in ImageSequence.Iterator(image):
        rgb = to_rgb(ImageOps.exif_transpose(frame))
        digest.update(f"frame {count}: {rgb.size}, {frame.info.get('duration')} ms\n".encode())
        digest.update(rgb.tobytes())
        count += 1
    digest.update(f"{count} frames".encode())
    return digest.hexdigest()
