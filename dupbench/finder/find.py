"""`dupbench find`: the duplicate groups of a person's folders, with the method, rule and threshold the
benchmark recommends.

1. Scan every folder recursively (dupbench/images/scan.py: what is not used is recorded with why).
2. Read each file the cache has no facts for once (skipped when its size, mtime, ctime and inode
   are unchanged) by the one engine (dupbench/engine, which the benchmark measures too): its sha256, its
   size as shown and, for a hash, its features on the workers from the same bytes. A large folder's
   reading starts during the scan, on worker processes forked from this one (ScanReads). Files with the
   same bytes are one image from here on. Encode the images the cache still has no features for
   (reduced JPEG decodes, batches, threads or processes), storing each batch in the cache
   (dupbench/features.py) as it is done.
3. Groups (dupbench/grouping.py, the code the benchmark calibrates): each image's nearest others,
   scores against the folder's own background where the rule says so, links that pass the
   threshold, and groups that cannot chain (the rule's grouping). Memory grows with N x k, never N^2.
4. Exact duplicates: files with the same bytes, and group members with identical decoded pixels.
   Each group keeps one copy: one in the first folder given, then the most pixels, then the largest
   file, then the first path (`--keep most-pixels` leaves the folders' order out).
"""

from __future__ import annotations

import collections
import functools
import gc
import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dupbench import engine
from dupbench.engine import UNITS, Facts, ScanReads, identity_of
from dupbench.engine.encode import cached_contents, prepares_on_workers
from dupbench.errors import DupbenchError
from dupbench.features import FeatureCache, file_stamp
from dupbench.finder.original import original_of, richest
from dupbench.finder.recommend import Choice
from dupbench.finder.verified import VERIFY_NEIGHBOURS, photo_of_row, verified
from dupbench.grouping import find_groups
from dupbench.images import fastjpeg
from dupbench.images.decode import Decode, decode, decode_file, decode_opened
from dupbench.images.frames import frames_digest
from dupbench.images.read import LARGE_FILE, read_bytes, read_rgb
from dupbench.images.scan import scan, why_link_unusable
from dupbench.progress import Progress


def default_cache(folders: Sequence[Path]) -> Path:
    """The user's cache folder (platformdirs: XDG_CACHE_HOME on Linux), one file per set of folders:
    nothing is written into the folders scanned (a read-only folder works)."""
    from platformdirs import user_cache_path

    key = hashlib.sha256("\n".join(os.path.realpath(f) for f in folders).encode()).hexdigest()[:20]  # a loop: no raise
    return user_cache_path("dupbench") / "finder" / f"{key}.sqlite"


@dataclass
class Photo:
    path: Path
    root: Path  # the folder it was found under (moves keep the path relative to it)
    size: int
    stamp: str  # size, mtime, ctime and inode: what must be unchanged for a cached sha256 to be trusted
    key: bytes = b""  # its absolute path as scanned, not resolved: the cache's key (`find Photos`, `find ~/Photos`)
    sha256: str = ""
    width: int = 0
    height: int = 0
    folder_rank: int = 0  # which of the folders given it was found under (0: the first)

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass
class Group:
    kind: str  # "exact" (identical pixels) or "near"
    members: list[int]
    best: int
    scores: dict[int, float] = field(default_factory=dict)  # member -> its score against the best copy
    exact: set[int] = field(default_factory=set)  # members with identical pixels to another member
    why: str = ""  # why the best copy is the one kept


@dataclass
class Found:
    photos: list[Photo]
    skipped: list[tuple[str, str]]
    groups: list[Group]
    pairs: list[tuple[int, int, float, str]]  # (i, j, score, "exact" | "near") inside the groups
    choice: Choice
    encoded: int = 0
    from_cache: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    prepared: Any = None  # one representation per distinct content, for --query
    row_of: list[int] = field(default_factory=list)  # photo -> its row in `prepared`
    folders: list[Path] = field(default_factory=list)


# A file as the scan found it: (its path, the file it is on disk, its size, its stamp, its cache key).
Entry = tuple[Path, str, int, str, bytes]


def walk(
    folder: Path,
    skipped: list[tuple[str, str]],
    ignore: set[str],
    seen: set[Path],
    tick: Callable[[list[Entry]], None] = lambda files: None,
) -> list[Entry]:
    """(image file, the file it is on disk, its size, its stamp, its cache key) under `folder`, recursively, in
    natural order; a folder met twice (a symlink back up) is scanned once. Files on disk and `ignore`
    are strings: a Path's hash is computed in Python, 100,000 of them took seconds. `tick` is given each
    folder's files as it is scanned (the new ones are read while the rest is: ScanReads)."""
    real = folder.resolve()
    if real in seen:
        skipped.append((str(folder), "folder already scanned (a symlink to it)"))
        return []
    seen.add(real)
    found = scan(folder, folders_wanted=True)
    # A file's own path under the resolved folder, unless it is a link: one resolve per folder, not
    # per file (three per file took 4 s of a warm run on 10,000 images).
    inside, given = str(real), os.fsencode(os.path.join(os.path.abspath(folder), ""))
    files = [
        (
            p,
            os.path.realpath(p) if name in found.links else os.path.join(inside, name),
            stat.st_size,
            file_stamp(stat),  # not the stat itself: 100,000 of them held to the scan's end took ~25 MiB
            given + os.fsencode(name),
        )
        for p, stat in zip(found.files, found.stats)
        for name in (p.name,)
    ]
    files = [entry for entry in files if entry[1] not in ignore]
    tick(files)
    # realpath, not Path.resolve: a symbolic link loop among the skipped made Python 3.11's resolve raise
    # RuntimeError and abort the whole scan (issue 38); realpath leaves a loop's path as it is.
    skipped += [(str(p), why) for p, why in found.skipped if os.path.realpath(p) not in ignore]
    for sub in found.folders:
        if os.path.realpath(sub) not in ignore:
            try:
                files += walk(sub, skipped, ignore, seen, tick)
            except DupbenchError as unreadable:  # a subfolder it cannot read: recorded, the scan goes on
                skipped.append((str(sub), str(unreadable)))
    return files


def collect(
    folders: Sequence[Path],
    ignore: set[Path],
    skipped: list[tuple[str, str]],
    tick: Callable[[list[Entry]], None],
) -> list[Photo]:
    found, seen, ignored = [], set(), {str(p) for p in ignore}
    for number, folder in enumerate(folders):
        if not folder.is_dir():
            link = why_link_unusable(folder) if folder.is_symlink() else None
            raise DupbenchError(f"{folder}: {link or ('no such folder' if not folder.exists() else 'not a folder')}")
        found += [(number, folder, *entry) for entry in walk(folder, skipped, ignored, seen, tick)]
    # One image per file on disk: symbolic links to a file the scan meets are reported once, not
    # taken for more copies (a move would otherwise move a kept copy's link, or the file behind it).
    repeated = {on_disk for on_disk, count in collections.Counter(e[3] for e in found).items() if count > 1}
    by_file: dict[str, list[tuple]] = {}
    for entry in found:
        if entry[3] in repeated:
            by_file.setdefault(entry[3], []).append(entry)
    photos = []
    for number, folder, path, on_disk, size, stamp, key in found:
        others = by_file.get(on_disk, ())
        if len(others) > 1 and (first := min(others, key=lambda e: (e[2].is_symlink(), e[0], str(e[2]))))[2] != path:
            skipped.append((str(path), f"a symbolic link to {on_disk}, which is scanned as {first[2]}"))
            continue
        photos.append(Photo(path, folder, size, stamp, key, folder_rank=number))
    return photos


def facts_usable(row: tuple | None, stamp: str) -> bool:
    """A cached row of a file's facts (FeatureCache.known_files) is trusted: the file's stamp is unchanged
    and its header was read."""
    return row is not None and row[0] == stamp and bool(row[2]) and bool(row[3])


def known_facts(photos: list[Photo], known: dict[bytes, tuple]) -> list[Photo]:
    """Each photo's sha256 and size as shown from the cache's `known` files where its facts are usable;
    the photos whose facts must be read (new or changed files, and any whose header could not be read)."""
    fresh = []
    for photo in photos:
        row = known.get(photo.key)
        if facts_usable(row, photo.stamp):
            photo.sha256, photo.width, photo.height = row[1], row[2], row[3]
        else:
            fresh.append(photo)
    return fresh


def scan_for_new(
    folders: Sequence[Path],
    ignored: set[Path],
    skipped: list[tuple[str, str]],
    cache: FeatureCache,
    early: ScanReads,
    progress: bool,
) -> tuple[list[Photo], list[Photo]]:
    """The photos under `folders`, and those whose facts must be read (known_facts), each folder's new
    files offered to `early` as it is scanned. The cache's rows (~40 MiB at 100,000 files) are let go
    on return, before the grouping's peak."""
    known = cache.known_files()

    with Progress("scan", unit="file", terminal=progress) as bar:
        # Counted here (a disabled bar, --quiet or --json, counts nothing).
        def scanned(files: list[Entry]) -> None:
            bar.update(len(files))
            early.offer([key for *_, stamp, key in files if not facts_usable(known.get(key), stamp)])

        photos = collect(folders, ignored, skipped, scanned)
    return photos, known_facts(photos, known)


def pixel_digest(path: Path) -> str:
    """The sha256 of an image's size and decoded RGB pixels (read_rgb's, in full); a plain JPEG's
    through libjpeg in C (dupbench/images/fastjpeg.py: the same pixels, without Pillow's Python parsing);
    an image of several frames (animated, multi-page), of every frame, one at a time (frames.py)."""
    data = read_bytes(path, LARGE_FILE) or b""  # a large file is not held whole: read_rgb opens it by path
    head = fastjpeg.header(data)
    # Asking for the long side takes libjpeg's full scale: the whole image, as read_rgb decodes it.
    pixels = fastjpeg.rgb_array(data, head, max(head.width, head.height)) if head is not None else None
    if pixels is not None:
        size = f"{(pixels.shape[1], pixels.shape[0])}".encode()
        return hashlib.sha256(size + np.ascontiguousarray(pixels).tobytes()).hexdigest()
    del data  # a many-frame file is read from disk frame by frame, not held here whole meanwhile
    if (frames := frames_digest(path)) is not None:
        return frames
    image = read_rgb(path, max_pixels=None)
    return hashlib.sha256(f"{image.size}".encode() + image.tobytes()).hexdigest()


def pixel_decoder() -> str:
    """What a cached pixel digest depends on besides the bytes: the decoder that made the pixels."""
    import PIL

    # 2: every frame of an image with several (1 hashed the first frame alone: those digests are not trusted).
    return f"pillow {PIL.__version__}, read_rgb 2"


class GroupScores:
    """Every score inside a group from one matrix call (not one call per pair: a group of a thousand
    burst shots would make half a million), read by photo; and which photos score perfectly against
    another image of their size: the only ones whose pixels are worth decoding to call them identical."""

    def __init__(self, method: Any, prepared: Any, distinct: list[int], row_of: list[int], sizes: np.ndarray) -> None:
        self.where = {r: k for k, r in enumerate(distinct)}
        part = method.subset(prepared, np.asarray(distinct))
        self.block = np.asarray(method.score_matrix(part, part), dtype=np.float64)
        np.fill_diagonal(self.block, method.perfect_score())
        self.row_of = row_of
        # A score no two different images can have, between two images of the same size.
        same_size = (sizes[:, None, :] == sizes[None, :, :]).all(axis=2)
        twins = (np.abs(self.block - method.perfect_score()) <= 1e-6) & same_size
        np.fill_diagonal(twins, False)
        self.perfect_twin = twins.any(axis=1)

    def between(self, a: int, b: int) -> float:
        return float(self.block[self.where[self.row_of[a]], self.where[self.row_of[b]]])

    def has_perfect_twin(self, i: int) -> bool:
        return bool(self.perfect_twin[self.where[self.row_of[i]]])


KEEP_RULES = ("first-folder", "most-pixels")


def best_of(photos: list[Photo], members: Sequence[int], keep: str = "first-folder") -> tuple[int, str]:
    """The copy a group keeps, and why: by default one in the first folder given (`find ~/Photos
    ~/Backup` keeps the library's copy), then the most pixels, then the largest file, then the first path;
    but never an upscaled copy of a smaller member: its original (compared at the smaller size)."""

    # A symbolic link is never the copy kept: it is not a copy, and keeping it would move the folder's real
    # file away (one lstat per grouped file).
    link = {i: photos[i].path.is_symlink() for i in members}

    def quality(i: int) -> tuple:
        return (link[i], -photos[i].pixels, -photos[i].size)

    def first(key: Callable[[int], tuple]) -> int:
        # The path breaks ties only among equals: a path's string is built for few members.
        top = min(map(key, members))
        return min((i for i in members if key(i) == top), key=lambda i: str(photos[i].path))

    if keep == "first-folder":
        best = first(lambda i: (link[i], photos[i].folder_rank, *quality(i)))
        pool = [i for i in members if photos[i].folder_rank == photos[best].folder_rank and link[i] == link[best]]
        folder = any(photos[i].folder_rank != photos[best].folder_rank for i in members)
    else:
        best = first(quality)
        pool, folder = [i for i in members if link[i] == link[best]], False
    # An upscaled copy has the most pixels and no more detail: its original is kept (finder/original.py).
    best, upscaled = original_of(photos, best, pool)
    where = f"in the first folder given ({photos[best].root})"
    if upscaled:
        copy = photos[upscaled[0]]
        why = (
            f"the original ({photos[best].width}x{photos[best].height}): {copy.path.name} ({copy.width}x{copy.height}) "
            f"is an upscaled copy of it, with no more detail at {photos[best].width}x{photos[best].height}"
        )
        return best, f"{where}; {why}" if folder else why
    # Copies of the same size: what their files say of which was saved first (finder/original.py).
    best, richer = richest(photos, best, pool)
    pixels = f"most pixels ({photos[best].width}x{photos[best].height}), then {richer or 'the largest file'}"
    if folder:
        return best, f"{where}; {pixels}" if richer else where
    return best, pixels


def cycle_collector_paused(function: Callable) -> Callable:
    """`function` run with Python's cycle collector off, as it was after. A run makes millions of small
    objects (entries, photos, rows) and no cycles worth chasing: the collector's passes over them took
    1-1.7 s of a 4 s scan of 100,000 files, more the more there were."""

    @functools.wraps(function)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


@dataclass
class Encoded:
    """What the read and the encoding left: the photos kept, one representation per distinct content."""

    photos: list[Photo]
    contents: list[str]  # sha256 of each distinct content, in the order of `prepared`'s rows
    prepared: Any
    hits: int  # contents whose features came from the cache
    encoded: int  # contents encoded this run (those that could not be decoded included)
    known_pixels: dict[str, str]  # cached pixel digests, by sha256
    kept: bool  # the cache is kept after the run (not a temporary one)


def remembering(cache: FeatureCache, photos: list[Photo]) -> Callable[[dict[int, Facts], dict], None]:
    """encode_files' on_read: each read batch's facts kept in the cache while the workers read on, not all
    at the end, when nothing else runs (100,000 rows: ~0.3 s at the end of a cold run)."""

    def remember(facts: dict[int, Facts], unreadable: dict[int, tuple[str, str]]) -> None:
        rows = [(photos[i].key, photos[i].stamp, f.sha256, f.width or None, f.height or None) for i, f in facts.items()]
        # A file whose header could not be read: its sha256 without a size, so the next run reads it again.
        rows += [(photos[i].key, photos[i].stamp, sha, None, None) for i, (sha, _) in unreadable.items() if sha]
        cache.remember_files(rows)

    return remember


def bars(progress: bool) -> Callable[[str, int], Progress]:
    """The engine's stages as the terminal's progress bars (counted here: a disabled bar counts nothing)."""
    return lambda name, total: Progress(name, total, UNITS.get(name, ""), terminal=progress)


def read_and_encode(
    folders: list[Path],
    choice: Choice,
    cache: FeatureCache,
    ignored: set[Path],
    workers: int,
    progress: bool,
    seconds: dict[str, float],
    skipped: list[tuple[str, str]],
) -> Encoded:
    """Scan, then the engine (dupbench/engine): the facts of new files read, each distinct content encoded
    once (cached or encoded now); files that cannot be read or decoded recorded as skipped, left out."""
    start = time.perf_counter()
    method, want = choice.method, choice.decode
    identity = identity_of(method, want)
    early = ScanReads(
        method, want, workers, prepares_on_workers(method, identity), lambda: cached_contents(method, identity, cache)
    )
    with early:
        photos, fresh = scan_for_new(folders, ignored, skipped, cache, early, progress)
        seconds["scan"] = time.perf_counter() - start
        start = time.perf_counter()
        new = {id(p) for p in fresh}
        known = {i: Facts(p.sha256, p.width, p.height) for i, p in enumerate(photos) if id(p) not in new}
        paths = [p.key or os.fsencode(p.path) for p in photos]
        done = engine.encode_files(
            method, want, paths, cache, workers, bars(progress), known, early, remembering(cache, photos)
        )
    seconds["encode"] = time.perf_counter() - start
    for photo, facts in zip(photos, done.facts):
        if facts is not None:
            photo.sha256, photo.width, photo.height = facts
    skipped += [(str(photos[i].path), why) for i, why in sorted(done.unreadable.items())]
    # A content that could not be decoded: each of its files named (the engine names the first).
    skipped += [
        (str(p.path), f"cannot read image {p.path}: {done.failed[p.sha256].split(': ', 1)[-1]}")
        for i, p in enumerate(photos)
        if done.facts[i] is not None and p.sha256 in done.failed
    ]
    kept = [p for i, p in enumerate(photos) if done.facts[i] is not None and p.sha256 not in done.failed]
    # A temporary cache (the real one was in use) is gone at its close.
    known_pixels = cache.pixel_digests(pixel_decoder())
    encoded = len(done.contents) + len(done.failed) - done.hits
    return Encoded(kept, done.contents, done.prepared, done.hits, encoded, known_pixels, not cache.temporary)


class Neighbours:
    """The pairs the search looked at: a group's pairs listed as "near" are these, not all m^2 of a group
    (only grouped images' neighbours are ever asked about)."""

    def __init__(self, near: Any, near_groups: list[list[int]]) -> None:
        self.of: dict[int, set[int]] = {}
        if near is not None:
            for rows in near_groups:
                for r in rows:
                    self.of[r] = set(near.indices[r].tolist())

    def __call__(self, a: int, b: int) -> bool:
        return b in self.of.get(a, ()) or a in self.of.get(b, ())


def scored_groups(
    method: Any, prepared: Any, photos: list[Photo], row_of: list[int], near_groups: list[list[int]]
) -> list[tuple[list[int], GroupScores]]:
    """Each group's files (the near groups' rows, and byte copies not in one) with their scores."""
    files_of: dict[int, list[int]] = {}
    for i, r in enumerate(row_of):
        files_of.setdefault(r, []).append(i)
    grouped_rows = {r for g in near_groups for r in g}
    groups_rows = near_groups + [[r] for r in files_of if len(files_of[r]) > 1 and r not in grouped_rows]
    scored = []
    for rows in groups_rows:
        members = sorted(i for r in rows for i in files_of[r])
        distinct = sorted({row_of[i] for i in members})
        sizes = np.array([next((photos[i].width, photos[i].height) for i in files_of[r]) for r in distinct])
        scored.append((members, GroupScores(method, prepared, distinct, row_of, sizes)))
    return scored


def new_pixel_digests(
    scored: list[tuple[list[int], GroupScores]], photos: list[Photo], known: dict[str, str], workers: int
) -> dict[str, str]:
    """Identical pixels are decided by decoding in full the images that score perfectly against another of
    their size, each content once, then kept in the cache: decoded here on every core at once (354 files of
    a 100,000-image run took 0.5 s on one). `known` is updated."""
    wanted = {
        photos[i].sha256: photos[i].path
        for members, inside in scored
        for i in members
        if inside.has_perfect_twin(i) and photos[i].sha256 not in known
    }
    if not wanted:
        return {}
    with ThreadPoolExecutor(max(1, workers)) as pool:
        new = dict(zip(wanted, pool.map(pixel_digest, wanted.values())))
    known.update(new)
    return new


def group_of(
    members: list[int],
    inside: GroupScores,
    photos: list[Photo],
    row_of: list[int],
    copies: collections.Counter,
    pixels: dict[str, str],
    neighbours: Neighbours,
    keep: str,
) -> tuple[Group, list[tuple[int, int, float, str]]]:
    """A group with its kept copy and kind, and its pairs. Identical pixels: the same bytes (`copies`: files
    per content), or a perfect score, the same size and the same decoded pixels (`pixels`)."""
    best, why = best_of(photos, members, keep)
    scores = {i: inside.between(best, i) for i in members if i != best}
    same_pixels: dict[str, list[int]] = {}
    for i in members:
        twins = copies[row_of[i]] > 1
        perfect_pair = inside.has_perfect_twin(i)
        key = f"bytes:{photos[i].sha256}" if not perfect_pair else f"pixels:{pixels[photos[i].sha256]}"
        if twins or perfect_pair:
            same_pixels.setdefault(key, []).append(i)
    exact = {i for items in same_pixels.values() if len(items) > 1 for i in items}
    classes = {key for key, items in same_pixels.items() if len(items) > 1}
    kind = "exact" if len(exact) == len(members) and len(classes) == 1 else "near"
    class_of = {i: key for key, items in same_pixels.items() if len(items) > 1 for i in items}
    pairs = []
    for x in range(len(members)):
        for y in range(x + 1, len(members)):
            a, b = members[x], members[y]
            both_exact = a in class_of and class_of.get(b) == class_of[a]
            if both_exact or neighbours(row_of[a], row_of[b]):
                pairs.append((a, b, inside.between(a, b), "exact" if both_exact else "near"))
    return Group(kind, members, best, scores, exact, why), pairs


def closeness(method: Any, prepared: Any) -> Callable[[list[int], list[int]], np.ndarray]:
    """The method's goodness (higher: nearer) between two lists of rows of `prepared`."""

    def between(rows: list[int], others: list[int]) -> np.ndarray:
        a, b = (method.subset(prepared, np.asarray(x, dtype=np.int64)) for x in (rows, others))
        return method.goodness(method.score_matrix(a, b))

    return between


# The decode frames are looked for in: both sides at least this (a 640 x 480 photo decoded at 320 x 240, a 12 MP
# one at 1/8; inner_frames works at most FRAME_SIZE, 512, long).
FRAME_DECODE = Decode(side=192)


def looking_inside(
    choice: Choice, prepared: Any, photos: list[Photo], row_of: list[int], workers: int
) -> Callable[[list[int]], dict[int, list[int]]]:
    """For the verification's last round: each given row's nearest rows (VERIFY_NEIGHBOURS, the whole folder) to
    what the image shows inside a frame (dupbench/inner_frames.py), described by the run's method; a row with no
    frame, or whose file cannot be read again, has none."""
    from dupbench.inner_frames import inner_frames
    from dupbench.verify import luminance

    path_of = {row: photo.path for row, photo in photo_of_row(photos, row_of).items()}
    method = choice.method

    def crops(row: int) -> list[Any]:
        try:
            # Frames are looked for at a reduced decode (ukbench800's photos: ~3 ms an image, ~9 ms decoded
            # whole; no frame in 759 of 761); the picture a frame holds is cut from the whole image.
            small = decode_file(path_of[row], FRAME_DECODE)
            boxes = inner_frames(luminance(np.asarray(small)))
            if not boxes:
                return []
            rgb = read_rgb(path_of[row])
            fx, fy = rgb.width / small.width, rgb.height / small.height
            scaled = [(round(a * fx), round(b * fy), round(c * fx), round(d * fy)) for a, b, c, d in boxes]
            return [decode_opened(rgb.crop(box), choice.decode) for box in scaled]
        except (DupbenchError, OSError):  # gone or changed since it was read: nothing to look inside
            return []

    def nearest(rows: list[int]) -> dict[int, list[int]]:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            shown = list(pool.map(crops, rows))
        owners = [row for row, images in zip(rows, shown) for _ in images]
        if not owners:
            return {}
        described = method.prepare_many([image for images in shown for image in images])
        goodness = np.asarray(method.goodness(method.score_matrix(described, prepared)))
        k = min(VERIFY_NEIGHBOURS + 1, goodness.shape[1])
        best = np.argpartition(-goodness, k - 1, axis=1)[:, :k]
        found: dict[int, list[int]] = collections.defaultdict(list)
        for row, candidates in zip(owners, best):
            found[row] += [int(c) for c in candidates if c != row]
        return found

    return nearest


@cycle_collector_paused
def find(
    folders: Sequence[Path],
    choice: Choice,
    cache_path: Path | None = None,
    workers: int = 2,
    progress: bool = True,
    ignore: Sequence[Path] = (),
    keep: str = "first-folder",
    verify: bool = False,
) -> Found:
    folders = [Path(f) for f in folders]
    given = cache_path is not None  # a path a person named: anything there but a cache is refused, untouched
    cache_path = cache_path or default_cache(folders)
    # realpath, not resolve: a link loop given as --cache or --move-to made Python 3.11's resolve raise.
    ignored = {Path(os.path.realpath(p)) for p in ignore} | {
        Path(os.path.realpath(f"{cache_path}{end}")) for end in ("", "-journal", "-wal", "-shm")
    }
    seconds: dict[str, float] = {}
    skipped: list[tuple[str, str]] = []
    with FeatureCache(cache_path, given) as cache:
        done = read_and_encode(folders, choice, cache, ignored, workers, progress, seconds, skipped)
    photos, contents, prepared = done.photos, done.contents, done.prepared
    row = {sha: i for i, sha in enumerate(contents)}
    row_of = [row[p.sha256] for p in photos]
    start = time.perf_counter()
    with Progress("search", 1, terminal=progress) as bar:
        near_groups, near = find_groups(choice.method, prepared, choice.rule) if len(contents) > 1 else ([], None)
        bar.update(1)
    if verify and near_groups:
        with Progress("verify", 1, terminal=progress) as bar:
            inside = looking_inside(choice, prepared, photos, row_of, workers)
            near_groups = verified(
                near_groups, near, photos, row_of, workers, closeness(choice.method, prepared), inside
            )
            bar.update(1)
    scored = scored_groups(choice.method, prepared, photos, row_of, near_groups)
    new_pixels = new_pixel_digests(scored, photos, done.known_pixels, workers)
    copies = collections.Counter(row_of)
    neighbours = Neighbours(near, near_groups)
    groups, pairs = [], []
    for members, inside in scored:
        group, its_pairs = group_of(members, inside, photos, row_of, copies, done.known_pixels, neighbours, keep)
        groups.append(group)
        pairs += its_pairs
    groups.sort(key=lambda g: (-len(g.members), str(photos[g.best].path)))
    if new_pixels and done.kept:
        with FeatureCache(cache_path, given) as cache:
            cache.remember_pixel_digests(new_pixels, pixel_decoder())
    seconds["search"] = time.perf_counter() - start
    return Found(
        photos, skipped, groups, sorted(pairs), choice, done.encoded, done.hits, seconds, prepared, row_of, folders
    )


def find_with_options(args: Any, choice: Choice, ignore: Sequence[Path]) -> Found:
    """find() with the command's options (`dupbench find` and `dupbench review` share them)."""
    return find(
        args.folders,
        choice,
        cache_path=args.cache,
        workers=args.workers or default_workers(),
        progress=not args.quiet and sys.stderr.isatty(),
        ignore=ignore,
        keep=args.keep,
        verify=choice.verify,
    )


def query(choice: Choice, found: Found, images: Sequence[Path], top: int) -> list[dict]:
    """The nearest photos of the folder to each query image, with scores."""
    method = choice.method
    answers = []
    for path in images:
        prepared = method.prepare_many([decode(Path(path).read_bytes(), choice.decode)])
        by_row = method.score_matrix(prepared, found.prepared)[0]
        scores = by_row[np.asarray(found.row_of, dtype=int)]
        order = method.order(scores)[:top]
        answers.append(
            {
                "query": str(path),
                "matches": [
                    {
                        "path": str(found.photos[i].path),
                        "score": float(scores[i]),
                        "duplicate": bool(method.passes(scores[i], choice.rule.threshold)),
                    }
                    for i in order
                ],
            }
        )
    return answers


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


__all__ = ["Decode", "Found", "Group", "Photo", "default_workers", "find", "find_with_options", "query"]
