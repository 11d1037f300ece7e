"""experiments/tools/find_scale.py: a row per tool from its repeated runs, and the ratio of medians."""

from __future__ import annotations

import sys

from experiments.paths import REPO_ROOT
from experiments.tools.find_scale import commits_of, median_of, rows_of_other_sizes, with_ratios


def ok(wall: float, peak: float = 50.0, groups: int = 3) -> dict:
    return {"status": "ok", "wall_s": wall, "peak_rss_mib": peak, "groups": groups, "images_in_groups": 2 * groups}


def test_a_row_is_the_median_of_its_rounds_with_their_range_and_highest_peak():
    row = median_of([ok(2.0, 60), ok(9.0, 40), ok(3.0, 50)])  # one noisy round does not move the median
    assert (row["wall_s"], row["wall_s_min"], row["wall_s_max"], row["rounds"]) == (3.0, 2.0, 9.0, 3)
    assert row["peak_rss_mib"] == 60 and row["status"] == "ok"


def test_a_failed_round_stands_for_the_tool_and_differing_groups_are_flagged():
    assert median_of([ok(1.0), {"status": "failed: timeout"}])["status"] == "failed: timeout"
    assert median_of([ok(1.0, groups=3), ok(1.0, groups=4)])["status"].startswith("groups differ")


def test_the_ratio_is_ours_over_immaculates_for_the_same_method_and_size():
    rows = [
        {"tool": "dupbench find (cold cache)", "method": "pdq", "n": 10, **median_of([ok(3.0), ok(4.0), ok(30.0)])},
        {"tool": "immaculate", "method": "pdq", "n": 10, **median_of([ok(2.0), ok(2.0), ok(1.0)])},
        {"tool": "immaculate", "method": "pdq", "n": 20, **median_of([ok(1.0)])},
    ]
    assert [r["x_immaculate"] for r in with_ratios(rows)] == [2.0, None, None]


def test_bench_find_times_dupbench_compiled_as_an_installed_package():
    """Every dupbench module has its bytecode before a run is timed (pip compiles an installed package;
    these machines set PYTHONDONTWRITEBYTECODE, so the checkout would compile itself at every run)."""
    from experiments.tools import find_scale

    find_scale.compile_bytecode()
    tag = sys.implementation.cache_tag
    sources = sorted((REPO_ROOT / "dupbench").rglob("*.py"))
    assert sources and all((p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file() for p in sources)


def test_measuring_some_sizes_again_keeps_the_other_sizes_rows(tmp_path):
    """`make bench-find ARGS="--sizes 800"` replaces the 800-photo rows and keeps the others with their stamps."""
    import pandas as pd

    path = tmp_path / "find-scale.csv"
    assert rows_of_other_sizes(path, [800]) == []
    rows = [{"tool": "immaculate", "n": n, "wall_s": n / 100, "git_commit": f"c{n}"} for n in (800, 10_000, 100_000)]
    pd.DataFrame(rows).to_csv(path, index=False)
    kept = rows_of_other_sizes(path, [800, 100_000])
    assert [(r["n"], r["git_commit"]) for r in kept] == [(10_000, "c10000")]
    table = pd.DataFrame(rows)
    assert commits_of(table.assign(git_commit="abc")) == "commit abc"
    assert commits_of(table) == "commits c800 (N=800), c10000 (N=10000), c100000 (N=100000)"
