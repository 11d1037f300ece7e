"""Which method and threshold `dupbench find` uses: by default what the field benchmark's committed
table recommends, and the threshold calibrated there (shipped with the code as that CSV).

Default method: the best recall at precision 0.99 on ukbench800 among the methods that encode at
least MIN_RATE images per second here and can be searched by an index. `--threshold calibrated`:
the method's `groups_p99` threshold from that table (the loosest at which the groups it forms kept
99 % pairwise precision on the calibration half of the groups), decoded as it was measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dupbench.errors import DupbenchError

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = REPO_ROOT / "results" / "baselines" / "field-ukbench800.csv"
# The field's rule for a finder: the loosest threshold whose groups (connected components: chains
# merge groups) kept 99 % pairwise precision on the calibration half of the groups.
RULE = "groups_p99"
MIN_RATE = 25.0  # images per second: a folder of 10,000 photos in under 7 minutes on 2 cores


@dataclass
class Choice:
    name: str
    method: object
    threshold: float
    threshold_source: str
    resize: tuple[int, int]  # for a method that takes the image at a fixed size (the field's)
    decode: str  # as measured in the field table: "short288" or "80x60"

    @property
    def identity(self) -> str | None:
        """The cache key of this method's features (None: its representation is not one array per image)."""
        method = self.method
        if method.index_kind is None:
            return None
        return json.dumps(
            [self.name, method.code_version(), method.cache_identity(), self.decode, method.describe()], sort_keys=True
        )


def shipped_table(path: Path = SHIPPED) -> pd.DataFrame:
    if not path.is_file():
        raise DupbenchError(
            f"{path} not found: it holds the field benchmark's calibrated thresholds (`make field`, then "
            "`make readme-table`); pass --method NAME --threshold VALUE to go without it"
        )
    table = pd.read_csv(path)
    return table[(table["status"].astype(str) == "ok") & (table["kind"] == "method")]


def recommended(table: pd.DataFrame) -> str:
    from methods import method_class

    ranked = table.drop_duplicates("method").sort_values(["recall_at_p99", "pair_ap"], ascending=False)
    for _, row in ranked.iterrows():
        if row["images_per_s"] >= MIN_RATE and method_class(row["method"]).index_kind is not None:
            return str(row["method"])
    raise DupbenchError(f"no method in {SHIPPED} encodes {MIN_RATE:g} images/s; pass --method NAME")


def choose(method: str | None, threshold: str = "calibrated", options: dict | None = None) -> Choice:
    from methods import create_method

    table = shipped_table() if method is None or threshold == "calibrated" else pd.DataFrame()
    name = method or recommended(table)
    instance = create_method(name, options or {"backbone": "auto", "weights_path": None})
    size = (80, 60)
    decode = f"short{instance.decode_side}" if instance.decode_side else f"{size[0]}x{size[1]}"
    if threshold == "calibrated":
        rows = table[(table["method"] == name) & (table["rule"] == RULE)]
        if rows.empty or pd.isna(rows["threshold"].iloc[0]):
            raise DupbenchError(
                f"no calibrated threshold for {name} in {SHIPPED} (methods there: "
                f"{', '.join(sorted(table['method'].unique()))}); pass --threshold VALUE"
            )
        row = rows.iloc[0]
        decode = str(row["decode"])
        if "x" in decode:
            size = tuple(int(v) for v in decode.split("x"))  # type: ignore[assignment]
        source = f"calibrated on {row['dataset']} ({RULE} rule, commit {row['git_commit']})"
        return Choice(name, instance, float(row["threshold"]), source, size, decode)
    try:
        value = float(threshold)
    except ValueError:
        raise DupbenchError(f"--threshold {threshold!r}: give 'calibrated' or a number") from None
    return Choice(name, instance, value, "given on the command line", size, decode)
