"""Top-k search at scale: the exact flat search and the blocked path against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from dupbench.methods import create_method
from dupbench.methods.search import brute_force_top_k, flat_top_k, top_k, top_k_of_matrix

K = 10


def full_matrix_top_k(method, prepared, k):
    matrix = method.score_matrix(prepared, prepared)
    np.fill_diagonal(matrix, method.worst_score())
    indices = np.stack([method.order(row)[:k] for row in matrix])
    return indices, np.take_along_axis(matrix, indices, axis=1)


def assert_same_results(method, prepared, got, want, atol):
    """Same k best scores per query; and each returned index really has the score returned."""
    (gi, gs), (_, ws) = got, want
    np.testing.assert_allclose(gs, ws, rtol=0, atol=atol)
    truth = method.score_matrix(prepared, prepared)
    np.testing.assert_allclose(np.take_along_axis(truth, gi, axis=1), gs, rtol=0, atol=atol)
    assert not (gi == np.arange(len(gi))[:, None]).any()  # never the query itself


def test_the_flat_search_is_exact_on_hashes():
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, size=(3000, 1), dtype=np.uint64) * 2
    hashes[1] = hashes[0]  # an exact duplicate pair
    method = create_method("ahash")
    got = top_k(method, hashes, K)
    assert_same_results(method, hashes, got, full_matrix_top_k(method, hashes, K), atol=0)
    assert got[0][0, 0] == 1 and got[1][0, 0] == 0


@pytest.mark.parametrize("name,atol", [("cosine", 1e-5), ("euclidean_numpy_float", 1e-2)])
def test_flat_float_indexes_match_brute_force(name, atol):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(800, 192), dtype=np.uint8)
    method = create_method(name)
    prepared = pixels.astype(np.float32) if name == "cosine" else pixels
    got = top_k(method, prepared, K)
    assert_same_results(method, prepared, got, full_matrix_top_k(method, prepared, K), atol=atol)


@pytest.mark.parametrize("name", ["ssim", "euclidean_numpy"])
def test_blocked_search_matches_the_full_matrix(name, astronaut, coffee):
    rng = np.random.default_rng(2)
    images = [astronaut.resize((21, 21)), coffee.resize((21, 21))]
    from PIL import Image

    images += [Image.fromarray(rng.integers(0, 256, (21, 21, 3), dtype=np.uint8)) for _ in range(40)]
    method = create_method(name)
    prepared = method.prepare_many(images)
    got = brute_force_top_k(method, prepared, 5, budget=4000)  # tiny budget: many row blocks
    assert_same_results(method, prepared, got, full_matrix_top_k(method, prepared, 5), atol=1e-12)


def test_neighbours_from_a_matrix_the_caller_has_are_brute_forces_without_scoring_again(astronaut, coffee):
    from PIL import Image

    from dupbench.grouping import neighbours

    rng = np.random.default_rng(3)
    images = [astronaut.resize((21, 21)), coffee.resize((21, 21))]
    images += [Image.fromarray(rng.integers(0, 256, (21, 21, 3), dtype=np.uint8)) for _ in range(40)]
    method = create_method("euclidean_numpy")  # no index: its neighbours are a brute-force search
    prepared = method.prepare_many(images)
    matrix = method.score_matrix(prepared, prepared, same=True)
    expected = brute_force_top_k(method, prepared, 5)
    calls = []
    scoring = method.score_matrix
    method.score_matrix = lambda *a, **kw: calls.append(1) or scoring(*a, **kw)
    got = neighbours(method, prepared, 5, matrix=matrix)
    assert not calls
    assert_same_results(method, prepared, (got.indices, got.scores), expected, atol=1e-12)
    assert top_k_of_matrix(method, matrix, 5, budget=4000)[1].tolist() == expected[1].tolist()  # many row blocks


def test_the_flat_search_rejects_an_unknown_kind():
    with pytest.raises(ValueError):
        flat_top_k("jaccard", np.zeros((3, 2), dtype=np.float32), 1)


def clustered_hashes(seed: int = 1, centres: int = 150, size: int = 3000) -> np.ndarray:
    """64-bit codes in clusters (0 to 12 bits flipped from a centre), a few clusters of equal codes
    larger than k, and background codes: every case a radius search must agree on."""
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, 2**63, size=centres, dtype=np.uint64) * 2 + 1
    codes = centre[rng.integers(0, centres, size=size)]
    flips = rng.integers(0, 13, size=size)
    for i, count in enumerate(flips):
        for bit in rng.choice(64, size=count, replace=False):
            codes[i] ^= np.uint64(1) << np.uint64(bit)
    codes[:40] = codes[0]  # 40 equal codes: more than k
    codes[-500:] = rng.integers(0, 2**63, size=500, dtype=np.uint64)
    return codes.reshape(-1, 1)


@pytest.mark.parametrize("radius", [0, 3, 10, 20])
@pytest.mark.parametrize("name", ["phash", "cosine"])
def test_a_radius_search_links_the_pairs_the_k_nearest_link(name, radius):
    from dupbench.grouping import Rule, group, links, neighbours

    method = create_method(name)
    if method.index_kind == "hamming":
        prepared = clustered_hashes()
        threshold = float(radius)
    else:
        prepared = np.random.default_rng(2).normal(size=(800, 16)).astype(np.float32)
        prepared[1:30] = prepared[0] + 0.01 * prepared[1:30]
        threshold = 0.9999 - radius / 100
    rule = Rule(threshold, grouping="components")
    knn = neighbours(method, prepared, k=K)
    within = neighbours(method, prepared, k=K, within=threshold)
    found = links(method, within, rule)
    assert found == links(method, knn, rule) and found  # the same pairs, and some pass
    assert group(method, prepared, within, rule) == group(method, prepared, knn, rule)
    padding = within.indices == -1
    assert padding.any() and np.isin(within.scores[padding], [method.worst_score()]).all()
    assert method.passes(within.scores[~padding], threshold).all()


@pytest.mark.parametrize("seed", range(6))
def test_components_are_scipys_connected_components(seed):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from dupbench.grouping import component_roots, components

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    links = int(rng.integers(1, 3 * n))
    a, b = rng.integers(0, n, links), rng.integers(0, n, links)
    if seed == 0:  # one long chain, linked from its far end: many rounds
        a, b = np.arange(n - 1)[::-1], np.arange(1, n)[::-1]
    _, labels = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    roots = component_roots(n, a, b)
    first = {}
    for i, label in enumerate(labels):
        first.setdefault(label, i)
    assert np.array_equal(roots, [first[label] for label in labels])
    pairs = [(int(x), int(y), 0.0) for x, y in zip(a, b) if x != y]
    expected = {}
    for i in np.unique(np.concatenate([a[a != b], b[a != b]])):
        expected.setdefault(labels[i], []).append(int(i))
    assert sorted(components(n, pairs)) == sorted(m for m in expected.values() if len(m) > 1)
