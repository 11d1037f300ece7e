"""engine=fast against the article's per-pair calls: same scores (within float tolerance) and the
same rankings, on the real Fruits-360 subset for every method; the feature cache; the batched kernels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import run_in_process

from dupbench.engine import rows_through_cache
from dupbench.features import FeatureCache
from dupbench.methods import Method, create_method, method_names
from dupbench.methods.base import loop_prepare_many
from dupbench.methods.hashing import hamming_all_pairs
from dupbench.methods.tensors import article_to_tensor, batch_to_tensor
from experiments.config import compose_config
from experiments.data import DataMissingError, load_dataset
from experiments.data.feature_cache import prepare_cached
from experiments.data.images import ImageCache
from experiments.evaluation.metric_table import tolerance
from experiments.evaluation.protocol import article_accuracy
from experiments.paths import REPO_ROOT
from experiments.tools.regress import BASELINES, METRICS, deterministic

# Largest score difference allowed between the engines: what each method declares
# (`engine_tolerance`: a float32 Gram matrix, batched convolutions...); exact kernels (integer sums,
# the same float64 formula) get float rounding only.


@pytest.fixture(scope="module")
def fruits():
    cfg = compose_config(["dataset=fruits360"])
    try:
        dataset = load_dataset(cfg.dataset)
    except DataMissingError as missing:
        pytest.skip(f"Fruits-360 subset not here: {missing}")
    images = ImageCache(dataset)
    return images.dataset, images


def ranks_agree(method, loop: np.ndarray, fast: np.ndarray, exclude: int, tol: float) -> None:
    """Same order, except between scores equal within tol (ties may break either way)."""
    loop, fast = loop.copy(), fast.copy()
    loop[exclude] = fast[exclude] = method.worst_score()
    by_loop, by_fast = method.order(loop), method.order(fast)
    differ = np.flatnonzero(by_loop != by_fast)
    assert np.all(np.abs(loop[by_loop[differ]] - loop[by_fast[differ]]) <= tol), (method.name, differ[:5])


@pytest.fixture(scope="module")
def embedded_small():
    cfg = compose_config(["dataset=embedded", "dataset.resize.width=48", "dataset.resize.height=48"])
    images = ImageCache(load_dataset(cfg.dataset))
    return images.dataset, images


def check_agreement(method, dataset, images) -> None:
    """Every (image, reference) pair of the article's protocol scored by the article's calls (one
    single-image prepare per image, deterministic, so the same as the article's two per pair, and one
    score call per pair) against the fast engine's batched prepare_many and score_matrix."""
    references = dataset.reference_indices
    pictures = images.all_at_common_size()
    singles = loop_prepare_many(method, pictures)
    loop_columns = np.full((len(pictures), len(references)), np.nan)
    for c, ref in enumerate(references):
        for row in range(len(pictures)):
            if row != ref:
                loop_columns[row, c] = method.score(singles[row], singles[ref])
    # A method without a batched prepare (its prepare_many is the loop) is not prepared twice.
    batched = type(method).prepare_many is not Method.prepare_many
    prepared = method.prepare_many(pictures) if batched else singles
    fast_columns = method.score_matrix(prepared, prepared, same=True)[:, references]
    tol = method.engine_tolerance or 1e-9 * np.nanmax(np.abs(loop_columns))
    mask = ~np.isnan(loop_columns)
    np.testing.assert_allclose(fast_columns[mask], loop_columns[mask], rtol=0, atol=tol)
    for c, ref in enumerate(references):
        ranks_agree(method, loop_columns[:, c], fast_columns[:, c], ref, tol)
    loop_accuracy, loop_got = article_accuracy(method, loop_columns, dataset.groups, references)
    fast_accuracy, fast_got = article_accuracy(method, fast_columns, dataset.groups, references)
    assert fast_accuracy == loop_accuracy
    if not method.engine_tolerance:  # exact kernels: the very same top-3 of every reference
        assert all(np.array_equal(a, b) for a, b in zip(loop_got, fast_got))


# The ones whose article loop takes seconds here run with the slow tests (make test stays under 2 minutes).
SLOW_LOOPS = {"crop_resistant_hash", "cnn_pooled_cosine", "sscd"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_LOOPS else n for n in method_names()]
)
def test_engines_agree_on_the_embedded_set(name, embedded_small):
    check_agreement(create_method(name), *embedded_small)


@pytest.mark.slow  # 2,280 pairs per method at 100x100: minutes for SSIM and the segment hash
@pytest.mark.parametrize("name", method_names())
def test_engines_agree_on_fruits360(name, fruits):
    check_agreement(create_method(name), *fruits)


def test_batched_tensors_are_torchvisions_to_tensor(astronaut, coffee):
    batch = batch_to_tensor([astronaut, coffee])
    assert torch.equal(batch[0], article_to_tensor(astronaut)) and torch.equal(batch[1], article_to_tensor(coffee))


def test_hamming_by_popcount_counts_differing_bits():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**63, size=(50, 2), dtype=np.uint64) * 2 + rng.integers(
        0, 2, size=(50, 2), dtype=np.uint64
    )
    got = hamming_all_pairs(words, words)
    expected = [[sum(bin(int(a) ^ int(b)).count("1") for a, b in zip(x, y)) for y in words] for x in words]
    assert np.array_equal(got, np.array(expected, dtype=np.float64))


def stored_rows(cache: Path) -> int:
    with FeatureCache(cache) as store:
        return store.db.execute("SELECT COUNT(*) FROM features").fetchone()[0]


def test_feature_cache_hits_on_rerun_and_misses_on_another_size(tmp_path, astronaut, coffee, monkeypatch):
    import experiments.data.feature_cache as article_cache

    loops = []  # the article's path looks up, encodes and stores through the engine's one loop (issue 40)
    monkeypatch.setattr(article_cache, "rows_through_cache", lambda *a: loops.append(a) or rows_through_cache(*a))
    method = create_method("cnn_cosine")
    pictures, shas = [astronaut, coffee], ["a" * 64, "b" * 64]
    first, hits = prepare_cached(method, pictures, shas, tmp_path)
    assert hits == 0 and stored_rows(tmp_path) == 2 and len(loops) == 1
    again, hits = prepare_cached(method, pictures, shas, tmp_path)
    assert hits == 2 and np.array_equal(first, again)
    bigger = [p.resize((128, 128)) for p in pictures]
    _, hits = prepare_cached(method, bigger, shas, tmp_path)
    assert hits == 0  # the size is part of the key
    _, hits = prepare_cached(create_method("ahash"), pictures, shas, tmp_path)
    assert hits == 0 and stored_rows(tmp_path) == 4  # methods without cache_identity: no cache


@pytest.mark.slow  # every method end to end; make regress checks the same baseline in CI
def test_engine_fast_end_to_end_matches_the_committed_article_baseline(tmp_path):
    code, err = run_in_process(tmp_path, "dataset=embedded", "engine=fast")
    assert code == 0, err[-2000:]
    fast = pd.read_csv(tmp_path / "exp1-fast" / "embedded" / "table.csv").set_index("method")
    assert (fast["engine"] == "fast").all() and (fast["n_pairs"] == 248).all()
    base = pd.read_csv(BASELINES / "exp1-embedded.csv").set_index("method").loc[fast.index]  # the suite run
    for name, row in base.iterrows():
        for metric in METRICS:
            assert fast.loc[name, metric] >= row[metric] - tolerance(metric, deterministic(name)), (name, metric)
    code, err = run_in_process(tmp_path, "dataset=embedded", "engine=fast", "force=true", "method.names=[cnn_cosine]")
    assert code == 0, err[-2000:]
    assert (
        pd.read_csv(tmp_path / "exp1-fast" / "embedded" / "table.csv")
        .set_index("method")
        .loc["cnn_cosine", "cache_hits"]
        == 32
    )


def test_unknown_engine_is_one_line(tmp_path):
    code, err = run_in_process(tmp_path, "dataset=embedded", "engine=warp", "method.names=[ahash]")
    assert code == 2 and "engine='warp' is not allowed: one of article, fast" in err


WARM_RUN = """
import runpy, sys
sys.argv = ["run.py", *{argv!r}]
try:
    runpy.run_path({run!r}, run_name="__main__")
except SystemExit as done:
    assert not done.code, done.code
heavy = [name for name in ("torch", "torchvision", "matplotlib", "scipy.spatial") if name in sys.modules]
print("heavy:", ",".join(heavy))
"""


@pytest.mark.slow  # two whole processes
def test_a_warm_fast_run_that_keeps_every_row_imports_no_torch_scipy_or_matplotlib(tmp_path):
    """What makes `make exp1 engine=fast` a 2-3 s command when nothing is recomputed (the import of
    torch alone is ~2.5 s here): methods are created unloaded, and loaded only when computed."""
    argv = [
        f"results_root={tmp_path}",
        "dataset=embedded",
        "dataset.resize.width=48",
        "dataset.resize.height=48",
        "engine=fast",
        "method.names=[euclidean_scipy,cosine,ahash,cnn_cosine]",
    ]
    script = WARM_RUN.format(argv=argv, run=str(REPO_ROOT / "experiments" / "run.py"))
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300) for _ in "12"]
    for done in runs:
        assert done.returncode == 0, done.stderr[-2000:]
    first, second = (done.stdout.strip().splitlines()[-1] for done in runs)
    assert "torch" in first and "scipy.spatial" in first, first  # the first run computed: it loaded them
    assert second == "heavy:", second
    assert (runs[1].stdout + runs[1].stderr).count("already in") == 4
