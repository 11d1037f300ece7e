"""Reading one image file as RGB, as every part of dupbench does: EXIF orientation applied, alpha
composited onto white, 16-bit scaled to 8 bits; a file that cannot be used raises UnreadableImage
naming it (the finder and the benchmark record it as a skip and go on)."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dupbench.errors import DupbenchError, UnreadableImage
from dupbench.files import sha256_of

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb limit

# Memory on one file (issue 38: a 1.5 GiB file, read whole, cost 1.58 GiB).
# A file larger than this is never read whole: hashed in 1 MiB chunks, its image opened from its path
# (Pillow reads as it decodes). Below it the bytes are read at once (the fast path: four system calls);
# each worker holds at most this much file.
LARGE_FILE = 32 << 20


def read_bytes(path: str | Path, limit: int | None = None) -> bytes | None:
    """A file's bytes in four system calls (open, its size, one read, close) where open().read() makes
    six or seven: ~6 us a small file less on these machines. A read asking one byte more than the size
    and getting exactly the size has met the file's end; anything else (the file grew or shrank, or a
    read of more than 2 GiB came back short) reads on to the end. With `limit`: None for a file larger
    than it (or that grows past it), read no further (the caller hashes it in chunks, opens it by path)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        if limit is not None and size > limit:
            return None
        data = os.read(fd, size + 1)
        if len(data) == size:
            return data
        parts, total = [data], len(data)
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:
                return None
        return b"".join(parts)
    finally:
        os.close(fd)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB without silently changing what the image shows: alpha onto white, 16-bit scaled to 8."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        image = Image.fromarray(np.clip(np.rint(pixels * (255.0 / top)), 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        raise UnreadableImage("floating-point pixels (mode F) have no fixed range to map to 8 bits")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def read_rgb(path: Path, max_pixels: int | None = DEFAULT_MAX_PIXELS, sha256: str = "") -> Image.Image:
    """Decode fully, apply the EXIF orientation, convert to RGB; a file that cannot be used raises
    UnreadableImage naming it (a run records it as a skip). With `sha256`, bytes that differ from it
    are an error: a published data set is used exactly or not at all."""
    return read_rgb_and_sha256(path, max_pixels, sha256)[0]


def read_rgb_and_sha256(
    path: Path, max_pixels: int | None = DEFAULT_MAX_PIXELS, sha256: str = ""
) -> tuple[Image.Image, str]:
    """read_rgb, and the sha256 of the bytes it decoded (what a result's fingerprint is made of)."""
    try:
        data = read_bytes(path, LARGE_FILE)
        if data == b"":
            raise UnreadableImage("empty file (0 bytes)")
        # A large file is hashed in chunks and decoded from its path: never held whole.
        actual = hashlib.sha256(data).hexdigest() if data is not None else sha256_of(path)
        if sha256 and actual != sha256:
            raise DupbenchError(
                f"{path} differs from its manifest (sha256); "
                "`python -m experiments.data check DATASET` lists every such file"
            )
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; here anything over the limit is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
            try:
                with Image.open(io.BytesIO(data) if data is not None else path) as image:
                    image.load()
                    return to_rgb(ImageOps.exif_transpose(image)), actual
            finally:
                Image.MAX_IMAGE_PIXELS = previous
    except UnreadableImage as exc:
        raise UnreadableImage(f"cannot read image {path}: {exc}") from None
    except DupbenchError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableImage(
            f"cannot read image {path}: over the decompression-bomb limit of {max_pixels} "
            f"pixels ({exc}); raise max_image_pixels=... if the image is trusted"
        ) from None
    except UnidentifiedImageError:
        # Pillow's own message names the in-memory buffer (<_io.BytesIO object at 0x...>), not the file.
        raise UnreadableImage(f"cannot read image {path}: not an image format Pillow recognises") from None
    except PermissionError:
        raise UnreadableImage(f"cannot read image {path}: permission denied") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UnreadableImage(f"cannot read image {path}: {type(exc).__name__}: {exc}") from None
