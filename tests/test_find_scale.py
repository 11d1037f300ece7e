"""experiments/tools/find_scale.py: a row per tool from its repeated runs, and the ratio of medians."""

from __future__ import annotations

from experiments.tools.find_scale import median_of, with_ratios


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
