"""JPEGs decoded in C (dupbench/images/fastjpeg.py) give Pillow's pixels, or are left to Pillow."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dupbench.engine.reads import shown_size
from dupbench.images import fastjpeg
from dupbench.images.decode import Decode, decode, decode_jpeg, decode_opened
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT

EMBEDDED = REPO_ROOT / "data" / "embedded"
WANTS = [Decode(side=8), Decode(side=32), Decode(side=224), Decode(size=(80, 60))]


def jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=options.pop("format", "JPEG"), **options)
    return out.getvalue()


def pillows(data: bytes, want: Decode) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return decode_opened(image, want)


def photo(size: tuple[int, int]) -> Image.Image:
    ensure_embedded(EMBEDDED)
    with Image.open(EMBEDDED / "astronaut" / "0_original.png") as image:
        return image.convert("RGB").resize(size, Image.Resampling.BILINEAR)


def oriented(image: Image.Image, orientation: int, **options) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg(image, exif=exif, **options)


CASES = {
    "640x480 4:2:0": lambda: jpeg(photo((640, 480)), quality=90),
    "641x479 4:4:4": lambda: jpeg(photo((641, 479)), quality=75, subsampling=0),
    "333x251 4:2:2 progressive": lambda: jpeg(photo((333, 251)), subsampling=1, progressive=True),
    "grayscale": lambda: jpeg(photo((400, 300)).convert("L")),
    "160x120": lambda: jpeg(photo((160, 120)), quality=60),
    **{f"tiny {w}x{h}": (lambda w=w, h=h: jpeg(photo((w, h)))) for w, h in [(1, 1), (9, 7), (17, 33), (63, 64)]},
    **{f"orientation {o}": (lambda o=o: oriented(photo((300, 200)), o)) for o in range(1, 9)},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_plain_jpeg_decodes_in_c_to_pillows_pixels_and_size_as_shown(case):
    data = CASES[case]()
    head = fastjpeg.header(data)
    assert head is not None
    with Image.open(io.BytesIO(data)) as image:
        assert head.shown == shown_size(image)
    taken = 0
    for want in WANTS:
        fast = decode_jpeg(data, head, want)
        if fast is None:  # libjpeg could reach the size two ways: Pillow's way (tiny images only)
            assert min(head.width, head.height) < 64
            continue
        taken += 1
        expected = pillows(data, want)
        assert fast.mode == expected.mode and fast.size == expected.size
        assert np.array_equal(np.asarray(fast), np.asarray(expected)), want
        assert np.array_equal(np.asarray(decode(data, want)), np.asarray(expected))
    assert taken or case.startswith("tiny")


def test_what_might_differ_is_left_to_pillow():
    image = photo((200, 150))
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'
    left = {
        "cmyk": jpeg(image.convert("CMYK")),
        "xmp orientation": jpeg(image, xmp=xmp),
        "mpo": jpeg(image, format="MPO", save_all=True, append_images=[photo((100, 75))]),
        "png": jpeg(image, format="PNG"),
        "truncated": jpeg(image)[:200],
    }
    for name, data in left.items():
        assert fastjpeg.header(data) is None, name
    with Image.open(io.BytesIO(left["xmp orientation"])) as opened:
        assert shown_size(opened) == (150, 200)  # Pillow turns it by its XMP: so must anything that reads it
    # Pixels cut short after a good header: the decoder complains, Pillow decides.
    data = jpeg(image)
    cut = data[: len(data) // 2]
    assert fastjpeg.header(cut) is not None and fastjpeg.rgb(cut, fastjpeg.header(cut), 32) is None


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_array_path_gives_the_images_pixels(case):
    """rgb_array (for a method that takes arrays) turns the array as Pillow turns the image."""
    data = CASES[case]()
    head = fastjpeg.header(data)
    for low in (8, 32, 64):
        image, array = fastjpeg.rgb(data, head, low), fastjpeg.rgb_array(data, head, low)
        assert (image is None) == (array is None)
        if array is not None:
            assert array.flags.c_contiguous and array.dtype == np.uint8
            assert np.array_equal(array, np.asarray(image)), (case, low)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_identical_pixels_digest_decodes_in_c_to_read_rgbs_pixels(case, tmp_path):
    """`dupbench find` calls two images identical by a digest of their pixels decoded in full: the C path
    must digest exactly what read_rgb decodes (the cached digests name Pillow's decoder)."""
    import hashlib

    from dupbench.finder.find import pixel_digest
    from dupbench.images.read import read_rgb

    data = CASES[case]()
    path = tmp_path / "image.jpg"
    path.write_bytes(data)
    head = fastjpeg.header(data)
    full = fastjpeg.rgb_array(data, head, max(head.width, head.height))
    assert full is not None or case.startswith("tiny")  # the C path is the one tested, bar tiny sizes
    image = read_rgb(path, max_pixels=None)
    assert pixel_digest(path) == hashlib.sha256(f"{image.size}".encode() + image.tobytes()).hexdigest()
