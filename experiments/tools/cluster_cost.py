"""`make cluster-cost`: what the field benchmark and a finder cost past this machine, from the committed
field table's measured rates (docs/scale.md; issue 17). Nothing is rerun but one image per method,
prepared to weigh its representation.

Per method of results/baselines/field-ukbench800.csv (rows that ran): the CPU seconds per image it
took here (cores x wall time / images, encode only: decode + prepare), the CPU-hours to encode 1
million, 100 million and 1 billion images at that rate, the CPU-hours of the field benchmark's
all-pairs table on ukbench800 (encode + search), and the bytes one image's representation takes
(prepared here, as stored by the feature cache) with the memory of a flat index at 1 million and
1 billion images.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from dupbench.images.decode import FIXED_SIZE
from dupbench.methods import create_method
from experiments.paths import BASELINES, REPO_ROOT
from experiments.reporting.render import dates, markdown
from experiments.reporting.sections import Entry, Section
from experiments.tables import atomic_write_csv

OUT = REPO_ROOT / "results" / "cluster-cost"


def representation_bytes(name: str) -> float:

    method = create_method(name)
    # As the field fed it: a method that takes the image as the article did gets the field's 80x60.
    image = Image.new("RGB", (320, 240) if method.decode_side else FIXED_SIZE, (90, 120, 150))
    prepared = method.prepare_many([image])
    return float(prepared.nbytes) if isinstance(prepared, np.ndarray) else float("nan")


def costs(field: pd.DataFrame) -> pd.DataFrame:
    ran = field[(field["status"].astype(str) == "ok") & (field["kind"] == "method")].drop_duplicates("method")
    rows = []
    for _, row in ran.iterrows():
        cores = float(row.get("cpu_count") or 2)
        per_image = cores * row["encode_s"] / row["n_images"]
        size = representation_bytes(row["method"])
        rows.append(
            {
                "method": row["method"],
                "label": row.get("label", row["method"]),
                "measured_images_per_s": row["images_per_s"],
                "cores": cores,
                "cached": bool(row.get("cache_hits", 0) > 0),
                "cpu_s_per_image": per_image,
                "cpu_hours_1m": per_image * 1e6 / 3600,
                "cpu_hours_100m": per_image * 1e8 / 3600,
                "cpu_hours_1b": per_image * 1e9 / 3600,
                "field_cpu_hours": cores * row["total_s"] / 3600,
                "bytes_per_image": size,
                "flat_index_gb_1m": size * 1e6 / 1e9,
                "flat_index_gb_1b": size * 1e9 / 1e9,
                "machine": row["machine"],
                "git_commit": row["git_commit"],
                "finished_at": row["finished_at"],
                "source": "results/baselines/field-ukbench800.csv",
            }
        )
    return pd.DataFrame(rows)


def render_cost(table: pd.DataFrame, source: str) -> str:

    first = table.iloc[0]
    shown = table[~table["cached"]] if "cached" in table else table
    return (
        markdown(
            shown,
            {
                "label": "",
                "cpu_s_per_image": ".3f",
                "cpu_hours_1m": ".1f",
                "cpu_hours_100m": ",.0f",
                "cpu_hours_1b": ",.0f",
                "field_cpu_hours": ".3f",
                "bytes_per_image": ",.0f",
                "flat_index_gb_1m": ",.2f",
                "flat_index_gb_1b": ",.0f",
            },
            {
                "label": "method",
                "cpu_s_per_image": "CPU s / image",
                "cpu_hours_1m": "CPU-h, 1M images",
                "cpu_hours_100m": "CPU-h, 100M",
                "cpu_hours_1b": "CPU-h, 1B",
                "field_cpu_hours": "CPU-h, field table (800)",
                "bytes_per_image": "bytes / image",
                "flat_index_gb_1m": "flat index GB, 1M",
                "flat_index_gb_1b": "flat index GB, 1B",
            },
        )
        + f"\n\nFrom the encode rates the field benchmark measured on {first['machine']} ({dates(table)}, commit "
        f"{first['git_commit']}): cores x seconds / images, decode included; rows whose features came from the "
        f"cache are left out. Source: `{source}`."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--field", type=Path, default=BASELINES / "field-ukbench800.csv")
    args = parser.parse_args()

    table = costs(pd.read_csv(args.field))
    atomic_write_csv(OUT / "cost.csv", table)
    print(f"cluster-cost: {OUT / 'cost.csv'} ({len(table)} methods)")


ENTRY = Entry(
    key="cluster-cost",
    title="Past one machine: CPU-hours and memory from the field's measured rates",
    output="cluster-cost",
    section=Section(table="cost.csv", render=render_cost),
    per_dataset=False,
)


if __name__ == "__main__":
    main()
