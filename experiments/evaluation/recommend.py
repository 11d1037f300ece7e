"""Which method `dupbench find` recommends from the multi-kind table: the best mean recall over the
kinds among the methods whose chosen rule held 99 % pairwise precision on every kind, that encode at
least MIN_RATE images a second here and that an index can search. One rule, read by `make thresholds`
(what ships) and by the README's table (what it says)."""

from __future__ import annotations

import pandas as pd

from dupbench.methods import method_class

MIN_RATE = 25.0  # images per second: a folder of 10,000 photos in under 7 minutes on 2 cores


def chosen_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Each method's chosen rule, fitted on every kind: one row per method (its first kind's)."""
    fitted = table[(table["tool"] == "method") & (table["fit"] == "all kinds")]
    return fitted[fitted["chosen"].fillna(False).astype(bool)].drop_duplicates("method")


def offered_methods(table: pd.DataFrame) -> list[str]:
    """Every method the rule offers, best first: the first is the default, the next stand in for it
    where its libraries are not installed (`dupbench find` on Python 3.11 without the SSCD models)."""
    offered = [
        (float(row["mean_recall"]), str(row["method"]))
        for _, row in chosen_rows(table).iterrows()
        if bool(row["held_everywhere"])
        and float(row.get("images_per_s") or 0) >= MIN_RATE
        and method_class(row["method"]).index_kind is not None
    ]
    return [name for _, name in sorted(offered, reverse=True)]


def default_method(table: pd.DataFrame) -> str | None:
    return next(iter(offered_methods(table)), None)
