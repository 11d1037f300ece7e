"""`dupbench find` on images of several frames and on symbolic links that lead nowhere (issue 38, points 3
and 8): "identical pixels" means every frame, and a link loop is a skipped file, not the end of the scan."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_find import PHASH, run


def found(tmp_path: Path, folder: Path, *argv: str) -> tuple[int, dict, str]:
    """The JSON answer of `find folder` (its own cache), and what it printed."""
    answer = tmp_path / "answer.json"
    code, out, err = run(
        "find", str(folder), *PHASH, "--cache", str(tmp_path / "cache.sqlite"), "--json", str(answer), *argv
    )
    assert code in (0, 1), err
    return code, json.loads(answer.read_text()), out


def noise(seed: int, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def three_frames(last: int = 2) -> list[Image.Image]:
    """Three frames; two lists that differ in `last` are the same up to their third frame."""
    base = noise(1)
    return [Image.fromarray(np.roll(base, 8, axis=1)), Image.fromarray(255 - base), Image.fromarray(noise(last))]


def save_all(path: Path, frames: list[Image.Image], **options) -> Path:
    frames[0].save(path, save_all=True, append_images=frames[1:], **options)
    return path


def group_of(answer: dict, *names: str) -> dict:
    [group] = [g for g in answer["groups"] if {Path(m["path"]).name for m in g["members"]} == set(names)]
    return group


def identical(group: dict) -> dict[str, bool]:
    return {Path(m["path"]).name: m["identical_pixels_in_group"] for m in group["members"]}


# --- point 3: every frame counts ----------------------------------------------------------------------


def test_gifs_equal_until_their_third_frame_are_a_near_group_not_identical_pixels(tmp_path):
    folder = tmp_path / "gifs"
    folder.mkdir()
    save_all(folder / "a.gif", three_frames(last=2), duration=100, loop=0)
    save_all(folder / "b.gif", three_frames(last=3), duration=100, loop=0)
    code, answer, _ = found(tmp_path, folder)
    group = group_of(answer, "a.gif", "b.gif")  # their first frames are the same: a perfect score
    assert code == 1 and group["kind"] == "near"
    assert identical(group) == {"a.gif": False, "b.gif": False}
    assert {p["kind"] for p in answer["pairs"]} == {"near"}


def test_a_move_does_not_set_aside_a_gif_that_differs_after_frame_1_as_an_identical_copy(tmp_path):
    folder = tmp_path / "gifs"
    folder.mkdir()
    save_all(folder / "a.gif", three_frames(last=2), duration=100, loop=0)
    save_all(folder / "b.gif", three_frames(last=3), duration=100, loop=0)
    code, answer, out = found(tmp_path, folder, "--move-to", str(tmp_path / "dups"))
    assert code == 1 and "moved 1 files" in out
    # What the person reads of the move: a near duplicate with its score, no identical pixels.
    assert "(near, 2)" in out and "(exact" not in out and "identical pixels" not in out
    assert group_of(answer, "a.gif", "b.gif")["kind"] == "near"


def test_multi_page_tiffs_equal_on_page_1_only_are_not_identical_pixels(tmp_path):
    folder = tmp_path / "tiffs"
    folder.mkdir()
    save_all(folder / "a.tif", three_frames(last=2))
    save_all(folder / "b.tif", three_frames(last=3))
    save_all(folder / "c.tif", three_frames(last=2), compression="tiff_lzw")  # a's pages, other bytes
    assert (folder / "a.tif").read_bytes() != (folder / "c.tif").read_bytes()
    _, answer, _ = found(tmp_path, folder)
    group = group_of(answer, "a.tif", "b.tif", "c.tif")
    assert group["kind"] == "near"
    assert identical(group) == {"a.tif": True, "b.tif": False, "c.tif": True}


def test_gifs_with_every_frame_the_same_but_other_bytes_are_still_exact(tmp_path):
    folder = tmp_path / "gifs"
    folder.mkdir()
    frames = [frame.quantize(64) for frame in three_frames()]
    save_all(folder / "a.gif", frames, duration=100, loop=0)
    save_all(folder / "b.gif", frames, duration=100, loop=0, optimize=True, comment=b"saved again", disposal=1)
    assert (folder / "a.gif").read_bytes() != (folder / "b.gif").read_bytes()
    _, answer, _ = found(tmp_path, folder)
    group = group_of(answer, "a.gif", "b.gif")
    assert group["kind"] == "exact" and identical(group) == {"a.gif": True, "b.gif": True}


def test_the_same_frames_shown_at_another_pace_are_a_near_duplicate(tmp_path):
    folder = tmp_path / "gifs"
    folder.mkdir()
    frames = [frame.quantize(64) for frame in three_frames()]
    save_all(folder / "a.gif", frames, duration=100, loop=0)
    save_all(folder / "slow.gif", frames, duration=[100, 100, 400], loop=0)
    _, answer, _ = found(tmp_path, folder)
    group = group_of(answer, "a.gif", "slow.gif")
    assert group["kind"] == "near" and not any(identical(group).values())


def test_a_gif_cut_short_after_its_first_frames_is_a_near_duplicate_and_the_scan_goes_on(tmp_path):
    """Its first frame decodes (its features are made from it); its last does not: not called identical
    to the whole file on its first frame's strength, and no crash."""
    folder = tmp_path / "gifs"
    folder.mkdir()
    whole = save_all(folder / "whole.gif", three_frames(), duration=100, loop=0).read_bytes()
    (folder / "cut.gif").write_bytes(whole[: len(whole) - 2000])
    code, answer, _ = found(tmp_path, folder)
    group = group_of(answer, "whole.gif", "cut.gif")
    assert code == 1 and group["kind"] == "near" and not any(identical(group).values())


def test_old_first_frame_digests_in_the_cache_are_not_trusted(tmp_path):
    """A cache filled before every frame counted holds first-frame digests under the old decoder name:
    a run now decodes the frames again rather than read them."""
    from dupbench.features import FeatureCache
    from dupbench.finder.find import pixel_decoder

    folder = tmp_path / "gifs"
    folder.mkdir()
    save_all(folder / "a.gif", three_frames(last=2), duration=100, loop=0)
    save_all(folder / "b.gif", three_frames(last=3), duration=100, loop=0)
    found(tmp_path, folder)
    with FeatureCache(tmp_path / "cache.sqlite") as cache:
        digests = cache.pixel_digests(pixel_decoder())
        assert len(digests) == 2
        # What the first-frame decoder ("read_rgb 1") stored: both files the same.
        cache.remember_pixel_digests(dict.fromkeys(digests, "0" * 64), pixel_decoder().replace(" 2", " 1"))
    assert "read_rgb 1" not in pixel_decoder()
    _, answer, _ = found(tmp_path, folder)
    assert group_of(answer, "a.gif", "b.gif")["kind"] == "near"


def peak_mib_line() -> str:
    """Python source for the process's own peak resident memory in MiB: VmHWM, which starts anew at exec
    (ru_maxrss does not: a child of pytest starts at pytest's peak and would hide what it grew)."""
    return "float(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_gif_of_many_large_frames_is_hashed_one_frame_at_a_time(tmp_path):
    """40 frames of 1000x1000: 120 MB of RGB held whole; its digest must cost a few frames' worth."""
    frames = [Image.new("P", (1000, 1000), k) for k in range(40)]
    for k, frame in enumerate(frames):
        frame.putpalette([(i * 7 + k) % 256 for i in range(768)])
    gif = save_all(tmp_path / "many.gif", frames, duration=40)
    probe = (
        "from pathlib import Path\n"
        "from dupbench.finder.find import pixel_digest\n"
        f"before = {peak_mib_line()}\n"
        f"pixel_digest(Path({str(gif)!r}))\n"
        f"print({peak_mib_line()} - before)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    grown_mib = float(done.stdout)
    assert grown_mib < 40, f"peak grew {grown_mib:.0f} MiB"


def test_a_still_jpeg_keeps_its_fast_path_and_a_still_png_its_digest(tmp_path, monkeypatch):
    """One frame: the digest is what it was (size and pixels), a plain JPEG's through fastjpeg."""
    import hashlib

    import dupbench.finder.find as finder
    from dupbench.images import frames

    Image.fromarray(noise(4)).save(tmp_path / "a.png")
    Image.fromarray(noise(4)).save(tmp_path / "a.jpg", quality=90)
    image = Image.open(tmp_path / "a.png").convert("RGB")
    assert finder.pixel_digest(tmp_path / "a.png") == hashlib.sha256(b"(64, 64)" + image.tobytes()).hexdigest()
    opened = []
    monkeypatch.setattr(finder, "frames_digest", lambda path: opened.append(path) or frames.frames_digest(path))
    finder.pixel_digest(tmp_path / "a.jpg")
    assert opened == []


# --- point 8: links that loop or lead nowhere -----------------------------------------------------------


def test_symlink_loops_and_a_dangling_link_are_skipped_with_a_reason_and_the_scan_goes_on(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(noise(5)).save(folder / "one.png")
    Image.fromarray(noise(5)).save(folder / "sub" / "two.png", compress_level=1)  # same pixels
    (folder / "loop").symlink_to("loop")  # ln -s loop loop
    (folder / "a.jpg").symlink_to("b.jpg")
    (folder / "b.jpg").symlink_to("a.jpg")
    (folder / "sub" / "gone.png").symlink_to(tmp_path / "missing.png")
    code, answer, _ = found(tmp_path, folder)
    assert code == 1 and group_of(answer, "one.png", "two.png")["kind"] == "exact"
    reasons = {Path(s["path"]).name: s["reason"] for s in answer["skipped"]}
    assert reasons == {
        "loop": "symlink loop",
        "a.jpg": "symlink loop",
        "b.jpg": "symlink loop",
        "gone.png": "symlink to nothing (its target does not exist)",
    }


def test_a_folder_given_that_is_a_symlink_loop_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "photos").symlink_to("photos")
    code, _, err = run("find", str(tmp_path / "photos"), *PHASH)  # the default cache: named from the folder
    assert code == 2 and err == f"error: {tmp_path / 'photos'}: symlink loop\n"


def test_a_loop_is_told_from_a_missing_target_whichever_way_python_reports_it(tmp_path, monkeypatch):
    """Python 3.11's strict resolve raises RuntimeError on a loop, 3.13's an OSError with ELOOP."""
    from dupbench.images.scan import why_link_unusable

    def loops(self, strict=False):
        raise OSError(errno.ELOOP, "Too many levels of symbolic links", str(self))

    monkeypatch.setattr(Path, "resolve", loops)
    assert why_link_unusable(tmp_path / "x") == "symlink loop"

    def denied(self, strict=False):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "resolve", denied)
    assert why_link_unusable(tmp_path / "x") == "symlink that cannot be followed: Permission denied"
