"""The one table of metrics: how each is named, shown and compared. `make regress`, the REPORT and
the README blocks all read it, so a metric is added or retuned in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str  # the column in table.csv
    label: str  # the column heading people read
    fmt: str  # how a value is printed
    higher_is_better: bool
    # The regression check: compared at all, and the tolerance for a method that is not bit-for-bit
    # deterministic (float32 convolutions whose summation order depends on threads and SIMD path);
    # deterministic methods are held to EXACT.
    regress: bool = False
    noise_tolerance: float = 0.0


EXACT = 1e-9
METRICS: tuple[Metric, ...] = (
    # One hit is 1.39 points on Fruits-360 (72 images to find): one CNN flip passes, two fail.
    Metric("accuracy", "accuracy % (article)", ".2f", True, regress=True, noise_tolerance=1.5),
    Metric("accuracy_all_queries", "accuracy % (all queries)", ".2f", True, regress=True, noise_tolerance=1.5),
    Metric("map", "mAP", ".3f", True, regress=True, noise_tolerance=0.005),
    Metric("pair_auc", "pair AUC", ".3f", True, regress=True, noise_tolerance=0.005),
    Metric("pair_ap", "pair AP", ".3f", True, regress=True, noise_tolerance=0.005),
    # The field benchmark's (experiment=field): UKBench's N-S score out of 4, recall at precision 0.99.
    Metric("ns_score", "N-S", ".2f", True, noise_tolerance=0.02),
    Metric("recall_at_p99", "recall at precision 0.99", ".3f", True, noise_tolerance=0.01),
    Metric("mean_s_per_pair", "s/pair (article loop, mean)", ".2e", False),
    Metric("prepared_s_per_pair", "s/pair (prepared once)", ".2e", False),
)
BY_NAME = {metric.name: metric for metric in METRICS}
REGRESSED = tuple(metric.name for metric in METRICS if metric.regress)
# What the regression check holds the field table to (one row per method; no article accuracy there).
FIELD_REGRESSED = ("ns_score", "map", "pair_auc", "pair_ap", "recall_at_p99")


def tolerance(metric: str, deterministic: bool) -> float:
    return EXACT if deterministic else BY_NAME[metric].noise_tolerance
