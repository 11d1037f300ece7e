"""From representations to duplicate groups: the one implementation, run by `dupbench find` and by the
benchmark that calibrates it (experiments/runners/kinds.py, field.py call these same functions).

1. Neighbours: each image's k nearest others (dupbench.methods.search: an exact flat search), so memory
   grows with N x k, never N^2.
2. Scores that adapt to the folder (`normalise="local"`): each score less the mean of the two images'
   background, the score of their `background_k`-th nearest neighbour (local scaling; SSCD's paper
   subtracts a k-th neighbour's similarity from a background set), k at most half the folder. A
   folder where everything looks alike (text pages, charts, product shots on white) has a high
   background, so only pairs that stand out from it are linked; the rule's `prior` (the background
   in a folder of unrelated photos) is the least a background can be, and stands in where a folder
   is too small to have one.
3. Links: the neighbour pairs whose (adjusted) score passes the threshold.
4. Groups, by `grouping`:
   - "components": connected components of the links (chains: one wrong link merges two groups);
   - "star": in each component, the image with most links is a centre, its group every image that
     passes the threshold to it; the rest is grouped again the same way (no member is more than
     one link from its centre);
   - "complete": in each component, clusters merged best link first, only while every pair of the
     merged cluster passes the threshold (complete linkage: no chain at all);
   - "community": Louvain communities of the linked graph, weighted by the adjusted scores (networkx,
     seeded), as Thorn's perception offers beside component and clique grouping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dupbench.methods.base import Method, row_blocks
from dupbench.methods.search import top_k, top_k_of_matrix, top_k_within

GROUPINGS = ("components", "star", "complete", "community")
NORMALISATIONS = ("none", "local")
NEIGHBOURS = 32  # nearest others kept per image
BIG_COMPONENT = 6000  # past this, a component's all-pairs check runs in row blocks


@dataclass(frozen=True)
class Rule:
    """How links become groups: the threshold (in the method's own units, adjusted when `normalise`
    is "local"), the grouping, and the background neighbour."""

    threshold: float
    grouping: str = "components"
    normalise: str = "none"
    background_k: int = 10
    # The background where a folder has no k-th neighbour (or its k-th is more alike than this
    # suggests a near copy): the median k-th neighbour score in a folder of unrelated photos,
    # measured by the calibration. None: the folder's own median.
    prior: float | None = None

    def describe(self) -> str:
        extra = f", scores less the {self.background_k}th-neighbour background" if self.normalise == "local" else ""
        return f"{self.grouping} groups at {self.threshold:g}{extra}"


@dataclass
class Neighbours:
    """Each image's k nearest others and their scores, and each image's background."""

    indices: np.ndarray  # (n, k)
    scores: np.ndarray  # (n, k), best first
    background: np.ndarray  # (n,): the score of its background_k-th neighbour (or the method's prior)


def background_of(method: Method, scores: np.ndarray, k: int, prior: float | None = None) -> np.ndarray:
    """Each image's background: its k-th neighbour's score, or the rule's prior where the folder has
    no k-th neighbour (and where the prior is the more alike of the two)."""
    n = len(scores)
    # At most half the folder: in a small folder the k-th neighbour would be its least alike image.
    k = min(k, n // 2)
    if prior is None:
        prior = float(np.median(scores[:, max(k, 1) - 1])) if n and scores.shape[1] else 0.0
    if k < 2 or scores.shape[1] < k:
        return np.full(n, float(prior))
    kth = scores[:, k - 1]
    # Never less alike than the prior: a folder of unrelated photos is the least a background can be.
    return np.where(method.goodness(kth) > method.goodness(prior), kth, prior).astype(np.float64)


def neighbours(
    method: Method,
    prepared: Any,
    k: int = NEIGHBOURS,
    within: float | None = None,
    matrix: np.ndarray | None = None,
) -> Neighbours:
    """Each image's k nearest others (the background is set per rule: `with_background`). `within`: only
    those passing this threshold are wanted (a rule without a background), the rest are padding (index
    -1, the worst score); the links are the same, found by a radius search where the method has one.
    `matrix`: the all-pairs scores, where the caller has them: a method without an index reads its
    neighbours from them instead of scoring every pair again."""
    n = method.count(prepared)
    if n < 2:
        empty = np.empty((n, 0))
        return Neighbours(empty.astype(np.int64), empty, np.zeros(n))
    k = min(k, n - 1)
    if within is not None:
        indices, scores = top_k_within(method, prepared, k, within)
    elif matrix is not None and not method.index_kind:
        indices, scores = top_k_of_matrix(method, matrix, k)
    else:
        indices, scores = top_k(method, prepared, k)
    return Neighbours(indices, scores, np.zeros(n))


def with_background(method: Method, near: Neighbours, rule: Rule) -> Neighbours:
    background = background_of(method, near.scores, rule.background_k, rule.prior)
    return Neighbours(near.indices, near.scores, background)


def adjust(scores: np.ndarray, background_a: np.ndarray, background_b: np.ndarray, rule: Rule) -> np.ndarray:
    """Scores as the rule compares them with its threshold."""
    if rule.normalise == "none":
        return scores
    return scores - (background_a + background_b) / 2


@dataclass(frozen=True)
class ScoredLinks:
    """Every neighbour pair once (a < b), at the better of its two directions: its raw score and
    that score adjusted by the two images' background (what the threshold is compared with)."""

    a: np.ndarray
    b: np.ndarray
    raw: np.ndarray
    adjusted: np.ndarray


def scored_links(method: Method, near: Neighbours, rule: Rule) -> ScoredLinks:
    """The one place neighbour rows become pairs: `links` keeps those that pass a threshold, the
    benchmark's threshold sweep (experiments/evaluation/fit.py) sorts them all."""
    n, k = near.indices.shape
    rows = np.repeat(np.arange(n), k)
    cols = near.indices.reshape(-1)
    real = cols >= 0  # a radius search pads its rows with -1
    rows, cols, raw = rows[real], cols[real], near.scores.reshape(-1)[real]
    adjusted = adjust(raw, near.background[rows], near.background[cols], rule)
    good = np.asarray(method.goodness(adjusted), dtype=np.float64)
    # A pair is linked when either direction passes: keep the better direction of each.
    a, b = np.minimum(rows, cols), np.maximum(rows, cols)
    order = np.lexsort((-good, b, a))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])
    keep = order[first]
    return ScoredLinks(a[keep], b[keep], np.asarray(raw)[keep], np.asarray(adjusted)[keep])


def links(method: Method, near: Neighbours, rule: Rule) -> list[tuple[int, int, float]]:
    """Neighbour pairs whose adjusted score passes the threshold: (a, b, raw score), a < b, each once,
    in (a, b) order."""
    return passing_links(method, scored_links(method, near, rule), rule)[0]


def passing_links(method: Method, scored: ScoredLinks, rule: Rule) -> tuple[list[tuple[int, int, float]], np.ndarray]:
    """The scored links that pass the rule's threshold, as (a, b, raw score), and their adjusted scores."""
    passing = method.passes(scored.adjusted, rule.threshold)
    pairs = zip(scored.a[passing].tolist(), scored.b[passing].tolist(), scored.raw[passing].tolist())
    return list(pairs), scored.adjusted[passing]


def component_roots(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each image's component, named by its smallest member, from the links (a, b): roots hooked under
    the smaller root across each link, then paths halved until every image points at its root, until
    no link joins two roots (numpy alone: scipy.sparse's import was 0.35 s of every `dupbench find`)."""
    parent = np.arange(n)
    while True:
        ra, rb = parent[a], parent[b]
        apart = ra != rb
        if not apart.any():
            return parent
        low, high = np.minimum(ra[apart], rb[apart]), np.maximum(ra[apart], rb[apart])
        np.minimum.at(parent, high, low)  # parent[i] <= i always: no cycles
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def components(n: int, pairs: Sequence[tuple[int, int, float]]) -> list[list[int]]:
    """Connected components with at least two members, each in index order."""
    if not pairs:
        return []
    a = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    b = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
    labels = component_roots(n, a, b)
    # Linked images by component, in index order inside each (array operations: 28,000 linked images
    # of a 100,000-image folder, one Python step per component, not per image).
    linked = np.unique(np.concatenate([a, b]))
    order = np.argsort(labels[linked], kind="stable")
    linked, label = linked[order], labels[linked][order]
    cuts = np.flatnonzero(np.diff(label)) + 1
    return [part.tolist() for part in np.split(linked, cuts) if len(part) > 1]


PassMatrix = Callable[[list[int]], np.ndarray]


def pass_matrix(
    method: Method, prepared: Any, background: np.ndarray, rule: Rule, scores: np.ndarray | None = None
) -> PassMatrix:
    """For a set of images, which of their pairs pass the rule (all pairs scored, in row blocks; or read
    from `scores`, the folder's all-pairs scores where a caller has them: the benchmark's fit)."""

    def check(members: list[int]) -> np.ndarray:
        index = np.asarray(members)
        if scores is not None:
            block = scores[np.ix_(index, index)]
            if not method.symmetric:
                block = method.goodness(np.maximum(method.goodness(block), method.goodness(block.T)))
            out = method.passes(adjust(block, background[index, None], background[None, index], rule), rule.threshold)
            np.fill_diagonal(out, True)
            return out
        sub = method.subset(prepared, index)
        out = np.zeros((len(index), len(index)), dtype=bool)
        for rows in row_blocks(len(index), len(index) * 8 * 4, budget=64 << 20):
            part = method.subset(sub, rows)
            block = method.score_matrix(part, sub)
            if not method.symmetric:  # the better of the two orders, as a search from either side finds
                back = method.score_matrix(sub, part).T
                block = method.goodness(np.maximum(method.goodness(block), method.goodness(back)))
            adjusted = adjust(block, background[index[rows], None], background[None, index], rule)
            out[rows] = method.passes(adjusted, rule.threshold)
        np.fill_diagonal(out, True)
        return out

    return check


def star_groups(component: list[int], passing: np.ndarray) -> list[list[int]]:
    """Centre = the member with most passing pairs (ties: the first); its group, every member that
    passes to it; the rest again."""
    left = np.ones(len(component), dtype=bool)
    # Each member's passing pairs among those left, kept up to date as groups leave: O(m^2) in all,
    # not a fresh m x m count per group (a component of thousands took most of a 100,000-image run).
    counts = passing.sum(axis=1, dtype=np.int64)
    groups = []
    while True:
        masked = np.where(left, counts, -1)
        centre = int(np.argmax(masked))
        if masked[centre] < 2:  # only itself: nothing left links
            break
        members = np.flatnonzero(passing[centre] & left)
        groups.append([component[i] for i in members])
        left[members] = False
        counts -= passing[:, members].sum(axis=1, dtype=np.int64)
    return groups


def complete_groups(
    component: list[int], passing: np.ndarray, order: Sequence[tuple[int, int, float]]
) -> list[list[int]]:
    """Clusters merged along links best first, only while every pair of the merged cluster passes."""
    position = {image: i for i, image in enumerate(component)}
    cluster = list(range(len(component)))
    members = {i: [i] for i in range(len(component))}
    for a, b, _ in order:
        ca, cb = cluster[position[a]], cluster[position[b]]
        if ca == cb or not passing[np.ix_(members[ca], members[cb])].all():
            continue
        if len(members[ca]) < len(members[cb]):
            ca, cb = cb, ca
        for i in members[cb]:
            cluster[i] = ca
        members[ca] += members.pop(cb)
    return [sorted(component[i] for i in m) for m in members.values() if len(m) > 1]


def community_groups(pairs: Sequence[tuple[int, int, float]], weights: Sequence[float]) -> list[list[int]]:
    import networkx as nx
    from networkx.algorithms.community import louvain_communities

    graph = nx.Graph()
    for (a, b, _), weight in zip(pairs, weights):
        graph.add_edge(a, b, weight=max(float(weight), 1e-6))
    return [sorted(c) for c in louvain_communities(graph, weight="weight", seed=0) if len(c) > 1]


def group(
    method: Method, prepared: Any, near: Neighbours, rule: Rule, scores: np.ndarray | None = None
) -> list[list[int]]:
    """The rule's groups (each a sorted list of image indices, two or more), largest first. `scores`:
    the folder's all-pairs scores, where the caller has them (else pairs are scored as needed)."""
    if rule.grouping not in GROUPINGS:
        raise ValueError(f"grouping {rule.grouping!r}: one of {', '.join(GROUPINGS)}")
    if rule.normalise not in NORMALISATIONS:
        raise ValueError(f"normalise {rule.normalise!r}: one of {', '.join(NORMALISATIONS)}")
    n = method.count(prepared)
    near = with_background(method, near, rule)
    pairs, adjusted = passing_links(method, scored_links(method, near, rule), rule)
    found = components(n, pairs)
    if rule.grouping == "community" and pairs:
        weights = method.goodness(adjusted) - method.goodness(rule.threshold) + 1e-3
        found = community_groups(pairs, weights)
    elif rule.grouping in ("star", "complete"):
        check = pass_matrix(method, prepared, near.background, rule, scores)
        if rule.grouping == "complete":
            goodness = np.asarray(method.goodness(np.array([p[2] for p in pairs], dtype=np.float64)))
            best_first = [pairs[i] for i in np.argsort(-goodness, kind="stable")]
        split = []
        for component in found:
            if len(component) == 2:  # its one link passed: both kinds of grouping keep the pair
                split.append(component)
                continue
            passing = check(component)
            if rule.grouping == "star":
                split += star_groups(component, passing)
            else:
                inside = set(component)
                split += complete_groups(component, passing, [p for p in best_first if p[0] in inside])
        found = split
    return sorted((sorted(g) for g in found), key=lambda g: (-len(g), g[0]))


def find_groups(method: Method, prepared: Any, rule: Rule, k: int = NEIGHBOURS) -> tuple[list[list[int]], Neighbours]:
    """Neighbours, then groups: what `dupbench find` runs on a folder's representations. A rule without
    a background needs only the neighbours that pass its threshold."""
    near = neighbours(method, prepared, k, within=rule.threshold if rule.normalise == "none" else None)
    return group(method, prepared, near, rule), near
