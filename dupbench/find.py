"""`dupbench find`: the duplicate groups of a person's folders, with the method and threshold the
field benchmark recommends.

1. Scan every folder recursively (experiments/data/scan.py: what is not used is recorded with why).
2. Hash each file's bytes (skipped when the cache knows its size and mtime), encode the files the
   cache has no features for (experiments/data/encode.py: reduced JPEG decodes, batches, threads),
   storing each batch in the cache as it is done.
3. Exact duplicates: files with the same bytes, and pairs the method scores as identical whose
   decoded pixels are identical. Near duplicates: each image's nearest others (methods.search:
   faiss where the method's representation allows, else its own scores in row blocks), kept where
   the score passes the threshold. Memory grows with N x k, never N^2.
4. Groups: connected components of those pairs; each group's best copy is the one with the most
   pixels, then the largest file, then the first path.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dupbench.errors import DupbenchError
from dupbench.index_cache import IndexCache
from dupbench.recommend import Choice

CACHE_NAME = ".dupbench-cache.sqlite"
NEIGHBOURS = 32  # nearest others kept per image: groups larger than this still join through chains


@dataclass
class Photo:
    path: Path
    root: Path  # the folder it was found under (moves keep the path relative to it)
    size: int
    mtime_ns: int
    sha256: str = ""
    width: int = 0
    height: int = 0

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


@dataclass
class Found:
    photos: list[Photo]
    skipped: list[tuple[str, str]]
    groups: list[Group]
    pairs: list[tuple[int, int, float, str]]  # (i, j, score, "exact" | "near")
    choice: Choice
    encoded: int = 0
    from_cache: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    prepared: Any = None  # the photos' representations, for --query


def walk(folder: Path, skipped: list[tuple[str, str]], ignore: set[Path], seen: set[Path]) -> list[Path]:
    """Image files under `folder`, recursively, in natural order; a folder met twice (a symlink
    back up) is scanned once."""
    from experiments.data.scan import scan

    real = folder.resolve()
    if real in seen:
        skipped.append((str(folder), "folder already scanned (a symlink to it)"))
        return []
    seen.add(real)
    found = scan(folder, folders_wanted=True)
    files = [p for p in found.files if p.resolve() not in ignore]
    skipped += [(str(p), why) for p, why in found.skipped if p.resolve() not in ignore]
    for sub in found.folders:
        if sub.resolve() not in ignore:
            files += walk(sub, skipped, ignore, seen)
    return files


def collect(
    folders: Sequence[Path], ignore: set[Path], skipped: list[tuple[str, str]], tick: Callable[[int], None]
) -> list[Photo]:
    photos, seen = [], set()
    for folder in folders:
        if not folder.is_dir():
            raise DupbenchError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: not a folder")
        for path in walk(folder, skipped, ignore, seen):
            stat = path.stat()
            photos.append(Photo(path, folder, stat.st_size, stat.st_mtime_ns))
            tick(1)
    return photos


def digest_all(photos: list[Photo], cache: IndexCache, tick: Callable[[int], None]) -> None:
    fresh = []
    for photo in photos:
        known = cache.known_digest(photo.path, photo.size, photo.mtime_ns)
        if known is None:
            photo.sha256 = hashlib.sha256(photo.path.read_bytes()).hexdigest()
            fresh.append((photo.path, photo.size, photo.mtime_ns, photo.sha256))
        else:
            photo.sha256 = known
        tick(1)
    cache.remember_digests(fresh)


def readable(photos: list[Photo], skipped: list[tuple[str, str]]) -> list[Photo]:
    """Photos whose header Pillow reads (their size is the best-copy rule's); others are skips."""
    kept = []
    for photo in photos:
        try:
            with Image.open(photo.path) as image:
                photo.width, photo.height = image.size
                if image.format == "JPEG":
                    orientation = image.getexif().get(0x0112, 1)
                    if orientation in (5, 6, 7, 8):
                        photo.width, photo.height = photo.height, photo.width
            kept.append(photo)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            skipped.append((str(photo.path), f"cannot read image: {type(exc).__name__}: {exc}"))
    return kept


def encode_all(
    choice: Choice, photos: list[Photo], cache: IndexCache, workers: int, tick: Callable[[int], None]
) -> tuple[Any, int, list[tuple[str, str]]]:
    """Every photo's representation (cached rows loaded, the rest encoded in batches and stored as each
    batch finishes); the cache-hit count; files that failed to decode (left out by the caller)."""
    from experiments.data.encode import Decode, prepared_batches

    method = choice.method
    identity = choice.identity
    known = cache.features([p.sha256 for p in photos], identity) if identity else {}
    missing = [i for i, p in enumerate(photos) if p.sha256 not in known]
    tick(len(photos) - len(missing))
    want = Decode.for_method(method, choice.resize)
    paths = [p.path for p in photos]
    parts: dict[int, Any] = {}
    from experiments.data.encode import usable

    broken = usable([paths[i] for i in missing], workers)  # checked on every core, at 1/8 of the size
    failed = [(str(paths[missing[k]]), why) for k, why in broken.items()]
    good = [i for k, i in enumerate(missing) if k not in broken]
    for chunk, part in prepared_batches(method, paths, good, want, workers):
        if identity:
            rows = list(part)
            cache.store_features([(photos[i].sha256, row) for i, row in zip(chunk, rows)], identity)
            for i, row in zip(chunk, rows):
                known[photos[i].sha256] = row
        else:
            parts[chunk[0]] = part
        tick(len(chunk))
    bad = {path for path, _ in failed}
    keep = [i for i, p in enumerate(photos) if str(p.path) not in bad]
    if identity:
        return np.stack([known[photos[i].sha256] for i in keep]), len(photos) - len(missing), failed
    return method.join([parts[k] for k in sorted(parts)]), 0, failed


def pixel_digest(path: Path) -> str:
    from experiments.data.loader import read_rgb

    image = read_rgb(path, max_pixels=None)
    return hashlib.sha256(f"{image.size}".encode() + image.tobytes()).hexdigest()


def near_pairs(choice: Choice, prepared: Any, n: int) -> list[tuple[int, int, float]]:
    """Pairs among each image's nearest others whose score passes the threshold."""
    from methods.search import top_k

    if n < 2:
        return []
    method, threshold = choice.method, choice.threshold
    indices, scores = top_k(method, prepared, min(NEIGHBOURS, n - 1))
    passes = scores >= threshold if method.direction == "similarity" else scores <= threshold
    pairs = {}
    for i, j in zip(*np.nonzero(passes)):
        a, b = sorted((int(i), int(indices[i, j])))
        pairs[(a, b)] = float(scores[i, j])
    return [(a, b, s) for (a, b), s in sorted(pairs.items())]


def identical(choice: Choice, score: float) -> bool:
    """A score no two different images can have: the candidates for an identical-pixels check."""
    return score >= 1 - 1e-6 if choice.method.direction == "similarity" else score <= 1e-9


class Components:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def grouped(photos: list[Photo], pairs: list[tuple[int, int, float, str]], choice: Choice, score_of) -> list[Group]:
    parts = Components(len(photos))
    for a, b, _, _ in pairs:
        parts.join(a, b)
    members: dict[int, list[int]] = {}
    for i in range(len(photos)):
        members.setdefault(parts.find(i), []).append(i)
    exact_links, exact = Components(len(photos)), set()
    for a, b, _, kind in pairs:
        if kind == "exact":
            exact_links.join(a, b)
            exact |= {a, b}
    groups = []
    for items in members.values():
        if len(items) < 2:
            continue
        best = min(items, key=lambda i: (-photos[i].pixels, -photos[i].size, str(photos[i].path)))
        kind = "exact" if len({exact_links.find(i) for i in items}) == 1 else "near"
        scores = {i: score_of(best, i) for i in items if i != best}
        groups.append(Group(kind, items, best, scores, {i for i in items if i in exact}))
    groups.sort(key=lambda g: (-len(g.members), str(photos[g.best].path)))
    return groups


def find(
    folders: Sequence[Path],
    choice: Choice,
    cache_path: Path | None = None,
    workers: int = 2,
    progress: bool = True,
    ignore: Sequence[Path] = (),
) -> Found:
    from tqdm import tqdm

    folders = [Path(f) for f in folders]
    cache_path = cache_path or (folders[0] / CACHE_NAME if folders else Path(CACHE_NAME))
    ignored = {Path(p).resolve() for p in ignore} | {cache_path.resolve(), Path(f"{cache_path}-journal").resolve()}
    seconds: dict[str, float] = {}
    skipped: list[tuple[str, str]] = []
    start = time.perf_counter()
    with tqdm(desc="scan", unit="file", disable=not progress, leave=False) as bar:
        photos = collect(folders, ignored, skipped, bar.update)
    seconds["scan"] = time.perf_counter() - start
    cache = IndexCache(cache_path)
    try:
        with tqdm(total=len(photos), desc="hash", unit="file", disable=not progress, leave=False) as bar:
            digest_all(photos, cache, bar.update)
        photos = readable(photos, skipped)
        start = time.perf_counter()
        with tqdm(total=len(photos), desc="encode", unit="img", disable=not progress, leave=False) as bar:
            prepared, hits, failed = encode_all(choice, photos, cache, workers, bar.update)
        seconds["encode"] = time.perf_counter() - start
    finally:
        cache.close()
    if failed:
        bad = {path for path, _ in failed}
        skipped += failed
        photos = [p for p in photos if str(p.path) not in bad]
    start = time.perf_counter()
    method = choice.method
    with tqdm(total=1, desc="search", disable=not progress, leave=False) as bar:
        near = near_pairs(choice, prepared, len(photos))
        bar.update(1)
    pairs: list[tuple[int, int, float, str]] = []
    by_bytes: dict[str, list[int]] = {}
    for i, photo in enumerate(photos):
        by_bytes.setdefault(photo.sha256, []).append(i)
    same_bytes = {(a, b) for items in by_bytes.values() for a in items for b in items if a < b}
    digests: dict[int, str] = {}
    for a, b, score in near:
        exact = (a, b) in same_bytes
        if (
            not exact
            and identical(choice, score)
            and (photos[a].width, photos[a].height)
            == (
                photos[b].width,
                photos[b].height,
            )
        ):
            for i in (a, b):
                if i not in digests:
                    digests[i] = pixel_digest(photos[i].path)
            exact = digests[a] == digests[b]
        pairs.append((a, b, score, "exact" if exact else "near"))
    listed = {(a, b) for a, b, _, _ in pairs}
    perfect = 1.0 if method.direction == "similarity" else 0.0
    pairs += [(a, b, perfect, "exact") for a, b in sorted(same_bytes - listed)]
    scored = {(a, b): s for a, b, s, _ in pairs}

    def score_of(best: int, i: int) -> float:
        key = (min(best, i), max(best, i))
        if key in scored:
            return scored[key]
        one = method.score_matrix(
            method.subset(prepared, slice(best, best + 1)), method.subset(prepared, slice(i, i + 1))
        )
        return float(one[0, 0])

    groups = grouped(photos, pairs, choice, score_of)
    seconds["search"] = time.perf_counter() - start
    return Found(photos, skipped, groups, sorted(pairs), choice, len(photos) - hits, hits, seconds, prepared)


def query(choice: Choice, found_prepared: Any, photos: list[Photo], images: Sequence[Path], top: int) -> list[dict]:
    """The nearest photos of the folder to each query image, with scores."""
    from experiments.data.encode import Decode, decode

    method = choice.method
    want = Decode.for_method(method, choice.resize)
    answers = []
    for path in images:
        prepared = method.prepare_many([decode(Path(path).read_bytes(), want)])
        scores = method.score_matrix(prepared, found_prepared)[0]
        order = method.order(scores)[:top]
        answers.append(
            {
                "query": str(path),
                "matches": [
                    {
                        "path": str(photos[i].path),
                        "score": float(scores[i]),
                        "duplicate": bool(
                            scores[i] >= choice.threshold
                            if method.direction == "similarity"
                            else scores[i] <= choice.threshold
                        ),
                    }
                    for i in order
                ],
            }
        )
    return answers


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
