"""The second of issue 39's two stages in `dupbench find --verify`: candidate pairs of each near group
verified by dupbench.verify, groups from the verified links."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from dupbench.errors import DupbenchError
from dupbench.grouping import components


def verified(
    near_groups: list[list[int]],
    near: Any,
    photos: list[Any],
    row_of: list[int],
    workers: int,
    closeness: Closeness | None = None,
    inside: Inside | None = None,
) -> list[list[int]]:
    """Issue 39's second stage (opt-in, --verify): each candidate pair (two contents of one near group,
    one among the other's nearest) is verified by dupbench.verify, and the groups are the verified links'
    components, so a look-alike the descriptor grouped (another invoice of the template, another screen
    of the app) ends alone. Candidates: each content's VERIFY_NEIGHBOURS nearest in its group, and its
    VERIFY_WIDENED nearest for a content none of those passed. Each image's luminance and keypoints are
    made once however many pairs it is in (pairs come in held_order, the last VERIFY_HELD images used are
    held, more while under VERIFY_HELD_BYTES, the keypoints of the last VERIFY_POINTS_KEPT); pairs on every
    core. `photos`: find's Photo (a path, by row_of). `closeness`: the descriptor's goodness between rows
    (higher: nearer); given, an image still alone is verified against the nearest VERIFY_GROUPS verified
    groups of its near group (nearest_groups). `inside`: the rows nearest to what each given image shows
    inside a frame; given, an image still alone after those is verified against them (a page captured in a
    window)."""
    group_of = {r: g for g, rows in enumerate(near_groups) for r in rows}
    copy = pair_verifier(photos, row_of)

    def still_alone(passed: list[tuple[int, int, float]]) -> list[int]:
        joined = {r for pair in passed for r in pair[:2]}
        return [r for r in group_of if r not in joined]

    rows = max(row_of, default=0) + 1
    first = candidates(near, group_of, group_of, 0, VERIFY_NEIGHBOURS)
    passed = links(held_order(first), copy, workers)
    # An image none of its nearest verified as a copy looks further: a copy with a caption or inside a
    # window has every page of its template nearer than its original (ranked 5-25 and 9-77 among its
    # neighbours on the person's folder of experiments/tools/copies_bench.py).
    further = candidates(near, group_of, still_alone(passed), VERIFY_NEIGHBOURS, VERIFY_WIDENED) - first
    passed += links(held_order(further), copy, workers, passed)
    if closeness is not None:
        # A copy whose original is not among its VERIFY_WIDENED nearest images (a page shown in a window and
        # captured: its original ranked a median 52nd among the charts of one style) is still near the group
        # its original and the original's other copies form: ranked by its nearest member, that group came
        # first among the verified groups for every such screenshot of the kinds benchmark's charts.
        grouped = components(rows, passed)
        last = nearest_groups(still_alone(passed), grouped, group_of, closeness) - first - further
        passed += links(held_order(last), copy, workers, passed)
        further |= last
    if inside is not None:
        framed = framed_pairs(inside, still_alone(passed)) - first - further
        passed += links(held_order(framed), copy, workers, passed)
    return components(rows, passed)


def pair_verifier(photos: list[Any], row_of: list[int]) -> Callable[[tuple[int, int]], bool]:
    """Whether dupbench.verify calls two rows copies (no, where a file is gone or changed since it was read),
    each image held as Held and KeptPoints hold it."""
    from dupbench.verify import KeptPoints, differ_all_over, glance, seen, verify

    file_of = photo_of_row(photos, row_of)
    kept = KeptPoints(VERIFY_POINTS_KEPT)
    held = Held(lambda r: seen(file_of[r].path, kept, r), VERIFY_HELD, VERIFY_HELD_BYTES)

    def glance_of(row: int) -> np.ndarray:
        made = glance(file_of[row].path) if glanced(file_of[row]) else None
        return NO_GLANCE if made is None else made

    glances = Held(glance_of, VERIFY_GLANCES, 0)

    def copy(pair: tuple[int, int]) -> bool:
        a, b = (file_of[r] for r in pair)
        try:
            if (a.width, a.height) == (b.width, b.height) and glanced(a):
                ga, gb = glances(pair[0]), glances(pair[1])
                if ga.size and ga.shape == gb.shape and differ_all_over(ga, gb):
                    return False  # refused at a glance: neither read whole
            return verify(held(pair[0]), held(pair[1])).copy
        except (DupbenchError, OSError):
            return False

    return copy


NO_GLANCE = np.empty((0, 0), dtype=np.uint8)


def glanced(photo: Any) -> bool:
    """Whether a pair of this image is glanced at first: a JPEG (verify.glance; its size known)."""
    return bool(photo.width) and photo.path.suffix.lower() in (".jpg", ".jpeg", ".jpe", ".jfif")


def photo_of_row(photos: list[Any], row_of: list[int]) -> dict[int, Any]:
    """Each content row's first photo (files of the same bytes are one row): the file verification reads."""
    first: dict[int, Any] = {}
    for photo, row in zip(photos, row_of):
        first.setdefault(row, photo)
    return first


def framed_pairs(inside: Inside, alone: list[int]) -> set[tuple[int, int]]:
    """Each image in `alone` with the rows nearest to what its frames hold, from the whole folder: an image
    still alone may show its original inside a window, and a capture's near group need not hold it."""
    pairs = {(min(r, s), max(r, s)) for r, near_rows in inside(alone).items() for s in near_rows}
    return {pair for pair in pairs if pair[0] != pair[1]}


Closeness = Callable[[list[int], list[int]], np.ndarray]
Inside = Callable[[list[int]], dict[int, list[int]]]


def nearest_groups(
    alone: list[int], grouped: list[list[int]], group_of: dict[int, int], closeness: Closeness, block: int = 256
) -> set[tuple[int, int]]:
    """The pairs of each image in `alone` with the nearest member of each of the VERIFY_GROUPS verified groups
    (`grouped`) of its near group that hold its nearest members: one pair a group (a look-alike of one copy is a
    look-alike of its group), its nearest member (a copy of the same encoding or frame aligns best). Array work
    a block of `block` images: no Python step per (image, member)."""
    label = {r: k for k, rows in enumerate(grouped) for r in rows}
    members: dict[int, list[int]] = collections.defaultdict(list)
    for r in sorted(label, key=lambda r: (label[r], r)):  # each group's members side by side
        members[group_of[r]].append(r)
    lonely: dict[int, list[int]] = collections.defaultdict(list)
    for r in alone:
        lonely[group_of[r]].append(r)
    pairs: set[tuple[int, int]] = set()
    for near_group, rows in lonely.items():
        others = members.get(near_group, [])
        if not others:
            continue
        labels = np.array([label[r] for r in others])
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        ends = np.r_[starts[1:], len(others)]
        k = min(VERIFY_GROUPS, len(starts))
        for first in range(0, len(rows), block):
            part = rows[first : first + block]
            scores = np.asarray(closeness(part, others), dtype=np.float64)
            best = np.maximum.reduceat(scores, starts, axis=1)  # each group's nearest member's score
            nearest = np.argpartition(-best, k - 1, axis=1)[:, :k]
            for r, row, groups in zip(part, scores, nearest):
                for g in groups:
                    s = others[starts[g] + int(np.argmax(row[starts[g] : ends[g]]))]
                    pairs.add((min(r, s), max(r, s)))
    return pairs


def candidates(near: Any, group_of: dict[int, int], rows: Any, start: int, stop: int) -> set[tuple[int, int]]:
    """The pairs of each of `rows` with its nearest from rank `start` to `stop` inside its near group."""
    return {
        (min(r, s), max(r, s))
        for r in rows
        for s in map(int, near.indices[r][start:stop])
        if s >= 0 and s != r and group_of.get(s) == group_of[r]
    }


def links(
    pairs: list[tuple[int, int]], copy: Any, workers: int, joined: Sequence[tuple[int, int, float]] = ()
) -> list[tuple[int, int, float]]:
    """The pairs that `copy` passes, less those whose two images verified links (`joined`, then those
    found here) already join: the groups are the links' components, so such a pair cannot change them (the
    same groups as verifying every pair). On the person's folder of experiments/tools/copies_bench.py (an
    original with its 17 copies and bursts of up to 30: most candidates are true) 1,190 of 4,654 pairs were
    skipped so."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            parent[i] = parent.get(parent[i], parent[i])
            i = parent[i]
        return i

    for a, b, _ in joined:
        parent[root(a)] = root(b)
    passed: list[tuple[int, int, float]] = []
    in_flight: collections.deque = collections.deque()

    def settle() -> None:
        (a, b), done = in_flight.popleft()
        if done.result():
            passed.append((a, b, 1.0))
            parent[root(a)] = root(b)

    # A short window of pairs in flight: a pair is checked against the links settled before it is sent.
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for a, b in pairs:
            while len(in_flight) >= 2 * max(1, workers):
                settle()
            if root(a) != root(b):
                in_flight.append(((a, b), pool.submit(copy, (a, b))))
        while in_flight:
            settle()
    return passed


# The images whose luminance the verification holds at once: the last VERIFY_HELD used (each at most
# verify.HELD_SIZE long, 4 MiB, and its blurred frame at most 1 MiB more: 256 MiB at most, as ever), and more of
# them while they hold under VERIFY_HELD_BYTES. 64 held pages of text are ~150 MiB; 64 held 160 x 120 crops are
# 2.4 MiB: on 10,000 of them (find_scale's folder, in process) 64 held read images 31,186 times (114.8 s), 64 MiB
# 24,072 times (107.2 s), 256 MiB 19,364 times (99.8 s, but ukbench800-edits' peak went 578 -> 970 MiB).
VERIFY_HELD = 64
VERIFY_HELD_BYTES = 64 << 20
# Glances held at once (verify.glance: at most 160 x 120, 19 KiB each: 38 MiB at most).
VERIFY_GLANCES = 2048


class Held:
    """`make(key)` for the keys asked last: at least the last `count`, and more while what they hold (Seen.nbytes)
    is under `budget` bytes; an image used again while held is not read again. Thread-safe; two threads asking
    for one key at once may both make it, and the first one made is kept."""

    def __init__(self, make: Callable[[Any], Any], count: int, budget: int):
        self.make, self.count, self.budget = make, count, budget
        self._held: collections.OrderedDict = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __call__(self, key: Any) -> Any:
        with self._lock:
            if key in self._held:
                self._held.move_to_end(key)
                return self._held[key]
        made = self.make(key)
        with self._lock:
            if key not in self._held:
                self._held[key] = made
                self._bytes += made.nbytes
            made = self._held[key]
            self._held.move_to_end(key)
            while len(self._held) > self.count and self._bytes > self.budget:
                self._bytes -= self._held.popitem(last=False)[1].nbytes
        return made


# Images whose keypoints are kept once their luminance is let go (at most ~0.2 MiB each: ~200 MiB). On the
# person's folder of experiments/tools/copies_bench.py 820 of its 960 images needed keypoints (~44 ms each):
# kept with the held luminance only, they were made 1,413 times; 512 kept, 1,444 (the widened round comes back
# to the first round's images); all kept, 820.
VERIFY_POINTS_KEPT = 1024
# Candidates verified per image: its nearest this many inside its near group. A burst or a set of copies
# is still one group (the verified links' components join them); on a person's folder of 960 images
# (experiments/tools/copies_bench.py) 8 gave 4,654 candidate pairs, 3,562 of them true, all 32 15,736
# (5,959 true); the run took 207 s against 17 s for the rule without verification.
VERIFY_NEIGHBOURS = 8
# Candidates verified per image that none of its first VERIFY_NEIGHBOURS passed (grouping.NEIGHBOURS are kept).
VERIFY_WIDENED = 32
# Verified groups an image still alone after those is verified against (its nearest member of each).
VERIFY_GROUPS = 8


def held_order(pairs: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pairs in an order that keeps their images held: the images walked breadth first over the
    candidates' graph, each pair taken when its later image is reached. On the person's folder of
    experiments/tools/copies_bench.py (4,654 pairs of 872 images) 64 held images made the keypoints of
    936 images this way, 4,913 with the pairs sorted by their first image (~89 ms of CPU each)."""
    linked: dict[int, set[int]] = collections.defaultdict(set)
    for a, b in pairs:
        linked[a].add(b)
        linked[b].add(a)
    position: dict[int, int] = {}
    for start in sorted(linked):
        if start in position:
            continue
        position[start] = len(position)
        queue = collections.deque([start])
        while queue:
            for other in sorted(linked[queue.popleft()]):
                if other not in position:
                    position[other] = len(position)
                    queue.append(other)
    return sorted(pairs, key=lambda p: (max(position[p[0]], position[p[1]]), min(position[p[0]], position[p[1]])))
