"""Memory on one file (issue 38 point 6): a 12000x12000 PNG of ~180 KB (under Pillow's bomb error limit)
took 2.7-3.7 GiB to decode, and every file was read whole (a 1.5 GiB file: 1.58 GiB). An image that
would hold more pixels than dupbench's limit is skipped with the limit named; a file over LARGE_FILE is
hashed in chunks and opened from its path, never read whole."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from dupbench.engine import reads as ingest
from dupbench.images import decode as decoding
from dupbench.images.decode import Decode
from dupbench.methods import create_method
from experiments.data.embedded import ensure_embedded
from experiments.paths import REPO_ROOT
from tests.test_find import EMBEDDED, PHASH, found_json, run

UKBENCH = REPO_ROOT.parent / "shared" / "datasets" / "ukbench800"


def big_png(path: Path, mode: str = "L", shade: int = 30) -> Path:
    """12000x12000, mostly flat: ~180 KB as L, ~460 KB as RGB (zlib's ratio tops out near 1000:1)."""
    image = Image.new("L", (12000, 12000), shade)
    draw = ImageDraw.Draw(image)
    draw.rectangle((2000, 3000, 7000, 9000), fill=255 - shade)
    draw.ellipse((8000, 1000, 11000, 5000), fill=128)
    (image if mode == "L" else image.convert(mode)).save(path, compress_level=9)
    return path


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of `size` bytes that costs no disk: `head`, then a hole (truncate)."""
    path.write_bytes(head)
    os.truncate(path, size)
    return path


def embedded_photos(folder: Path) -> list[str]:
    ensure_embedded(EMBEDDED)
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted((EMBEDDED / "astronaut").iterdir()):
        shutil.copy(source, folder / source.name)
    return sorted(p.name for p in folder.iterdir())


def test_an_image_over_the_pixel_limit_is_skipped_naming_the_limit_and_how_to_raise_it(tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    embedded_photos(folder)
    big_png(folder / "big.png")
    code, answer = found_json(tmp_path, str(folder), *PHASH, "--cache", str(tmp_path / "cache.sqlite"))
    why = {Path(s["path"]).name: s["reason"] for s in answer["skipped"]}
    assert "big.png" in why, answer["skipped"]
    assert "12000x12000" in why["big.png"] and "32,000,000" in why["big.png"]
    assert "DUPBENCH_MAX_PIXELS" in why["big.png"] and "\n" not in why["big.png"]
    assert code == 1 and any(len(g["members"]) > 1 for g in answer["groups"])  # the run went on

    # Raised, it is read: reduced as soon as it is loaded (an L image: 144 MB held, not 2.7 GiB).
    monkeypatch.setenv("DUPBENCH_MAX_PIXELS", "150_000_000")
    _, answer = found_json(tmp_path, str(folder), *PHASH, "--cache", str(tmp_path / "cache2.sqlite"))
    assert "big.png" not in {Path(s["path"]).name for s in answer["skipped"]}
    monkeypatch.setenv("DUPBENCH_MAX_PIXELS", "lots")
    code, _, err = run("find", str(folder), *PHASH, "--cache", str(tmp_path / "cache3.sqlite"))
    assert code == 2 and "DUPBENCH_MAX_PIXELS='lots'" in err and len(err.strip().splitlines()) == 1


def test_a_file_over_the_size_limit_is_hashed_in_chunks_and_never_read_whole(tmp_path, monkeypatch):
    """A 300 MiB file that is no image (a hole) and a photo with 300 MiB after its end (as a motion photo
    carries its video): both hashed right, neither read whole; the photo's features those of its pixels."""
    ensure_embedded(EMBEDDED)
    photo = (EMBEDDED / "astronaut" / "3_tone.jpg").read_bytes()
    zeros = sparse(tmp_path / "zeros.png", 300 << 20)
    motion = sparse(tmp_path / "motion.jpg", 300 << 20, photo)
    returned = []
    real = ingest.read_bytes
    monkeypatch.setattr(
        ingest, "read_bytes", lambda *a, **k: (data := real(*a, **k), returned.append(len(data or b"")))[0]
    )
    method = create_method("phash")
    want = Decode.for_method(method)
    out = ingest.read_batch(method, [(0, str(zeros)), (1, str(motion))], want, prepare=True)
    assert max(returned) <= decoding.LARGE_FILE
    expected = {i: hashlib.sha256(p.read_bytes()).hexdigest() for i, p in enumerate((zeros, motion))}
    assert out.unreadable[0][0] == expected[0] and "UnidentifiedImageError" in out.unreadable[0][1]
    assert out.facts[1].sha256 == expected[1] and out.prepared == [1]
    assert np.array_equal(out.part, method.prepare_many([decoding.decode(photo, want)]))
    # The encoding's own reading (a file whose features were not made on the read's workers) is bounded too.
    given = []
    real_decode = decoding.decode
    monkeypatch.setattr(decoding, "decode", lambda data, *a: given.append(type(data)) or real_decode(data, *a))
    assert decoding.decode_file(motion, want).size == real_decode(photo, want).size and given == [type(motion)]


# The peak from /proc/self/status's VmHWM, this process's own: getrusage's ru_maxrss survives exec on
# Linux and would report the pytest process this one was forked from.
MEASURE = """
import json, sys
from dupbench.finder.cli import main
code = main(sys.argv[1:])
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"code": code, "peak_mib": peak / 1024}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="the peak is read from /proc (Linux)")
def test_a_run_over_two_12000_square_pngs_and_a_large_file_stays_within_bounded_memory(tmp_path):
    """The peak of a whole `dupbench find` (its read workers are threads below PROCESSES_FROM files: one
    process's max RSS is the run's) on a few photos beside a 12000x12000 PNG as L and as RGB (576 MiB
    decoded), a 400 MiB file and a photo with 400 MiB after it: GiBs before, within 300 MiB now (pHash)."""
    folder = tmp_path / "photos"
    embedded_photos(folder)
    big_png(folder / "big-l.png")
    big_png(folder / "big-rgb.png", "RGB", shade=200)
    sparse(folder / "large.png", 400 << 20)
    # The same pixels as 3_tone.jpg with 400 MiB after them: twins, so their pixels are decoded in full to
    # call them identical (find.pixel_digest), from its path.
    sparse(folder / "motion.jpg", 400 << 20, (folder / "3_tone.jpg").read_bytes())
    argv = ["find", str(folder), *PHASH, "--cache", str(tmp_path / "cache.sqlite"), "--json", str(tmp_path / "o.json")]
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, cwd=REPO_ROOT, timeout=600
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    answer = json.loads((tmp_path / "o.json").read_text())
    print(f"peak {result['peak_mib']:.0f} MiB")
    assert result["peak_mib"] <= 300
    assert result["code"] == 1 and {Path(s["path"]).name for s in answer["skipped"]} == {
        "big-l.png",
        "big-rgb.png",
        "large.png",
    }
    identical = {Path(m["path"]).name for g in answer["groups"] for m in g["members"] if m["identical_pixels_in_group"]}
    assert {"3_tone.jpg", "motion.jpg"} <= identical


def groups_by_name(answer: dict) -> set[frozenset[str]]:
    return {frozenset(Path(m["path"]).name for m in g["members"]) for g in answer["groups"]}


@pytest.mark.slow
def test_the_groups_of_100_photos_are_unchanged_with_large_files_beside_them(tmp_path):
    if not UKBENCH.is_dir():
        pytest.skip(f"{UKBENCH} is not staged")
    alone, beside = tmp_path / "alone", tmp_path / "beside"
    for folder in (alone, beside):
        folder.mkdir()
        for k in range(100):
            shutil.copy(UKBENCH / f"ukbench{k:05d}.jpg", folder)
    big_png(beside / "big.png")
    sparse(beside / "large.png", 300 << 20)
    sparse(beside / "motion.jpg", 300 << 20, (UKBENCH / "ukbench00500.jpg").read_bytes())
    _, before = found_json(tmp_path, str(alone), *PHASH, "--cache", str(tmp_path / "a.sqlite"))
    _, after = found_json(tmp_path, str(beside), *PHASH, "--cache", str(tmp_path / "b.sqlite"))
    assert groups_by_name(after) == groups_by_name(before) and groups_by_name(before)
    assert after["images"] == before["images"] + 1  # motion.jpg is read (from its path), the other two skipped
    assert {Path(s["path"]).name for s in after["skipped"]} == {"big.png", "large.png"}


def test_large_images_are_decoded_one_at_a_time(tmp_path, monkeypatch):
    """Two images over LARGE_PIXELS on two threads: the second waits for the first (the bound holds with
    any number of workers)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    paths = []
    for k in range(2):
        paths.append(tmp_path / f"{k}.png")
        Image.new("RGB", (3000, 3000), (k * 100, 50, 50)).save(paths[-1])  # 9 MP > LARGE_PIXELS
    inside, most, guard = [0], [0], threading.Lock()
    real = decoding.reduced

    def counted(image, low):
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.3)
        with guard:
            inside[0] -= 1
        return real(image, low)

    monkeypatch.setattr(decoding, "reduced", counted)
    with ThreadPoolExecutor(2) as pool:
        sizes = list(pool.map(lambda p: decoding.decode_file(p, Decode(side=32)).size, paths))
    assert sizes == [(33, 33), (33, 33)] and most[0] == 1  # 3000 // 32 = 93: ceil(3000 / 93)


def palette_image(gray: Image.Image) -> Image.Image:
    """A palette image whose indices are `gray`'s values, through a colour ramp (no quantising: fast)."""
    image = Image.frombytes("P", gray.size, gray.tobytes())
    image.putpalette([v for i in range(256) for v in (i, 255 - i, (3 * i) % 256)])
    image.info["transparency"] = bytes([0] * 64 + [255] * 192)  # the darkest quarter transparent: onto white
    return image


def test_a_large_image_decoded_reduced_keeps_its_orientation_and_its_pixels(tmp_path):
    """Reduced right after loading (not copied whole by its EXIF turn and to_rgb): the same picture as a
    full decode resized, turned by its EXIF orientation, for RGB, palette and 16-bit images."""
    from dupbench.images.read import read_rgb

    ensure_embedded(EMBEDDED)
    # 110 x 65 blocks of 37 (2405 // 64): the reduction's blocks are the same whichever corner they start at.
    source = Image.open(EMBEDDED / "astronaut" / "0_original.png").convert("RGB").resize((4070, 2405))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter: 2405 wide, 4070 high
    cases = {
        "rgb": source,
        "palette": palette_image(source.convert("L")),
        "sixteen": Image.fromarray(np.asarray(source.convert("L"), dtype=np.uint16) * 257),
    }
    for name, image in cases.items():
        path = tmp_path / f"{name}.png"
        image.save(path, exif=exif, compress_level=1)
        small = decoding.decode_file(path, Decode(side=64))
        assert small.mode == "RGB" and small.size == (65, 110), (name, small.size)
        full = read_rgb(path).reduce(37)  # decoded whole, turned, made RGB, then reduced
        difference = np.abs(np.asarray(small, dtype=np.int16) - np.asarray(full, dtype=np.int16)).max()
        assert difference <= 2, (name, difference)  # roundings apart (alpha is averaged premultiplied)


def test_a_progressive_jpeg_counts_its_whole_size_a_sequential_one_its_reduced_size(tmp_path, monkeypatch):
    """libjpeg holds a progressive JPEG's every coefficient whatever the scale asked (an 80 MP one took
    461 MiB at 1/8): it is limited as a PNG is; a sequential JPEG streams at its reduced size."""
    from dupbench.errors import UnreadableImage
    from dupbench.images import fastjpeg

    image = Image.new("RGB", (4000, 2200), (120, 30, 200))  # 8.8 MP: over LARGE_PIXELS
    progressive, sequential = tmp_path / "progressive.jpg", tmp_path / "sequential.jpg"
    image.save(progressive, progressive=True)
    image.save(sequential)
    assert fastjpeg.header(progressive.read_bytes()).progressive
    assert not fastjpeg.header(sequential.read_bytes()).progressive
    monkeypatch.setenv("DUPBENCH_MAX_PIXELS", "5000000")
    assert reduced_by_dct(decoding.decode_file(sequential, Decode(side=64)).size)
    with pytest.raises(UnreadableImage, match=r"4000x2200 pixels .* limit of 5,000,000 for a progressive JPEG"):
        decoding.decode_file(progressive, Decode(side=64))
    monkeypatch.delenv("DUPBENCH_MAX_PIXELS")
    assert reduced_by_dct(decoding.decode_file(progressive, Decode(side=64)).size)


def reduced_by_dct(size: tuple[int, int]) -> bool:
    """4000x2200 decoded for a short side of 64: DCT-scaled by 1/8 or more, never below 64."""
    return min(size) >= 64 and size[0] <= 500
