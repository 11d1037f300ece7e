"""JPEGs decoded in C (simplejpeg: libjpeg-turbo, as Pillow's own decoder) to the very pixels Pillow's
path gives: the same DCT scaling as `Image.draft`, the EXIF turn applied with Pillow's transpose.

Pillow parses a JPEG's markers in Python: opening one took more time than decoding its pixels at an
eighth of the size (0.55 ms an image against 0.25 ms here, 10,000 small JPEGs). Where the answer could
differ from Pillow's in any way this module returns None and the caller goes Pillow's way: not a
YCbCr or grayscale JPEG, a multi-picture (MPO) file, an orientation only XMP gives, a header it does
not fully understand, more pixels than Pillow's limit, any complaint from the decoder, a size whose
scaling libjpeg could reach two ways. tests/test_fastjpeg.py holds the pixels equal to Pillow's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

try:
    import simplejpeg
except ImportError:  # an install without it decodes through Pillow alone
    simplejpeg = None

# Pillow's ImageOps.exif_transpose, orientation -> transpose.
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
COLOURS = ("YCbCr", "Gray")  # what Pillow opens as RGB and L, decoded by libjpeg alone
PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})  # start-of-frame markers of progressive JPEGs


@dataclass(frozen=True)
class JpegHeader:
    width: int  # as stored
    height: int
    orientation: int  # 1 (none) to 8
    # Progressive (SOF2, 6, 10, 14): libjpeg holds every coefficient of the whole image while it decodes,
    # at any scale (2 bytes a sample: 6 a pixel for 4:4:4, an 80 MP file took 461 MiB at 1/8); a
    # sequential JPEG streams, its memory that of the scaled output.
    progressive: bool = False

    @property
    def shown(self) -> tuple[int, int]:
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


def _orientation(exif: bytes) -> int | None:
    """IFD0's orientation of an APP1 Exif segment (after its 6-byte name); 0 when it has none; None
    when the block is not as expected (Pillow's reading is then the one to trust)."""
    tiff = exif[6:]
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    if struct.unpack(order + "H", tiff[2:4])[0] != 42:
        return None
    ifd = struct.unpack(order + "I", tiff[4:8])[0]
    if ifd + 2 > len(tiff):
        return None
    count = struct.unpack(order + "H", tiff[ifd : ifd + 2])[0]
    if ifd + 2 + 12 * count > len(tiff):
        return None
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind, number = struct.unpack(order + "HHI", tiff[entry : entry + 8])
        if tag == 0x0112:
            value = struct.unpack(order + "H", tiff[entry + 8 : entry + 10])[0]
            return value if kind == 3 and number == 1 and 1 <= value <= 8 else None
    return 0


def header(data: bytes) -> JpegHeader | None:
    """Size and EXIF orientation of a JPEG Pillow would open as a plain JPEG, read from its markers
    (up to the first scan); None for anything else."""
    if simplejpeg is None or data[:2] != b"\xff\xd8":
        return None
    orientation, xmp, progressive, at = None, False, False, 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xDA:  # start of scan: every header segment is behind
            break
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        body = data[at + 4 : at + 2 + length]
        if marker == 0xE1 and body[:6] == b"Exif\x00\x00" and orientation is None:  # Pillow reads the first
            orientation = _orientation(body)
            if orientation is None:
                return None
        elif marker == 0xE1 and body.startswith(b"http://ns.adobe.com/xap/1.0/"):
            xmp = True
        elif marker == 0xE2 and body[:4] == b"MPF\x00":  # Pillow opens it as MPO
            return None
        elif marker in PROGRESSIVE:
            progressive = True
        at += 2 + length
    else:
        return None
    if not orientation and xmp:  # Pillow takes the orientation from XMP then
        return None
    try:
        height, width, colour, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    if colour not in COLOURS or width * height > (Image.MAX_IMAGE_PIXELS or width * height):
        return None
    return JpegHeader(width, height, orientation or 1, progressive)


def _reduced(size: int, scale: int) -> int:
    return (size + scale - 1) // scale


def _pixels(data: bytes, head: JpegHeader, low: int) -> np.ndarray | None:
    """(height, width, 3) uint8 as stored (not turned), at the scale Pillow's draft("RGB", (low, low))
    takes; None where libjpeg could be asked for the same size at another scale, or it complains."""
    ratio = min(head.width // low, head.height // low)
    scale = next(s for s in (8, 4, 2, 1) if ratio >= s or s == 1)
    width, height = _reduced(head.width, scale), _reduced(head.height, scale)
    # libjpeg scales by n/8: a finer factor than 8/scale that still reaches the size would be taken.
    finer = 8 // scale - 1
    if finer and -(-head.width * finer // 8) >= width and -(-head.height * finer // 8) >= height:
        return None
    try:
        pixels = simplejpeg.decode_jpeg(data, "RGB", min_height=height, min_width=width, min_factor=scale, strict=True)
    except ValueError:
        return None
    return pixels if pixels.shape[:2] == (height, width) else None


def rgb(data: bytes, head: JpegHeader, low: int) -> Image.Image | None:
    """RGB as Pillow gives it after `draft("RGB", (low, low))`, load, exif_transpose and convert("RGB");
    None: Pillow's way."""
    pixels = _pixels(data, head, low)
    if pixels is None:
        return None
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    return image.transpose(TRANSPOSE[head.orientation]) if head.orientation in TRANSPOSE else image


# TRANSPOSE on an array (rows, columns, channels): the same permutations of the same pixels.
TURNS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a),
}


def rgb_array(data: bytes, head: JpegHeader, low: int) -> np.ndarray | None:
    """rgb()'s pixels as a C-ordered (height, width, 3) uint8 array, with no Pillow image in between
    (for a method that reads arrays: Pillow's copy in and numpy's copy out were 0.15 ms of PDQ's 1.2 ms
    an image)."""
    pixels = _pixels(data, head, low)
    if pixels is None or head.orientation not in TURNS:
        return pixels
    return np.ascontiguousarray(TURNS[head.orientation](pixels))
