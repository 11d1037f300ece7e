"""Issue 39 on the kinds benchmark's generated folders, by copy type: `dupbench find` under the two stages
(or the options given) on each whole folder (documents, charts: 120 originals with a JPEG 60, a half-size,
a margin-cropped, a screenshot and an "edit" copy each, and 120 originals with none), and for each copy type
the share of copies grouped with their original, with the groups' pairwise precision. Run in this process,
a fresh cache each. The kinds table scores each kind's halves as a whole (docs/experiments.md); this is the
same data by copy type, which a rule must be judged by.

    .venv/bin/python -m experiments.tools.kinds_copies [--sets documents charts] [--options ...]

Writes results/kinds-copies/kinds-copies.csv, one row per (data set, copy type), and prints it.
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict
from pathlib import Path

import pandas as pd

from experiments.config import compose_config
from experiments.data import load_dataset
from experiments.paths import REPO_ROOT
from experiments.peers.catalog import TWO_STAGES
from experiments.provenance import git_commit, machine, now_utc
from experiments.tables import atomic_write_csv
from experiments.tools.copies_bench import groups_in_process

OUT = REPO_ROOT / "results" / "kinds-copies"


def groups_found(folder: Path, options: list[str]) -> tuple[list[list[Path]], float]:
    """The groups `dupbench find FOLDER OPTIONS` forms (resolved paths), and its wall time."""
    groups, wall = groups_in_process(folder, options)
    return [[path.resolve() for path in members] for members in groups], wall


def scored(name: str, options: list[str]) -> list[dict]:
    dataset = load_dataset(compose_config([f"dataset={name}"]).dataset)
    item_of = {Path(item.path).resolve(): item for item in dataset.items}
    groups, wall = groups_found(Path(dataset.root), options)
    group_of = {path: k for k, members in enumerate(groups) for path in members}
    true = wrong = 0
    for members in groups:
        for a, b in itertools.combinations(members, 2):
            if item_of[a].group == item_of[b].group:
                true += 1
            else:
                wrong += 1
    originals = {item.group: path for path, item in item_of.items() if item.edit == "original"}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, item in item_of.items():
        original = originals.get(item.group)
        if item.edit == "original" or original is None:
            continue
        counts[item.edit][1] += 1
        counts[item.edit][0] += int(path in group_of and group_of[path] == group_of.get(original))
    common = {
        "dataset": name,
        "images": len(item_of),
        "options": " ".join(options),
        "wall_s": round(wall, 2),
        "pairs_found": true + wrong,
        "precision": true / (true + wrong) if true + wrong else float("nan"),
        "git_commit": git_commit(),
        "machine": machine(),
        "finished_at": now_utc(),
    }
    return [
        {**common, "copy_type": edit, "copies": n, "grouped": k, "recall": k / n}
        for edit, (k, n) in sorted(counts.items())
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="*", default=["documents", "charts"])
    parser.add_argument("--options", nargs=argparse.REMAINDER, default=list(TWO_STAGES),
                        help="dupbench find's options (default: the two stages, catalog.TWO_STAGES)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = [row for name in args.sets for row in scored(name, args.options)]
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(args.out / "kinds-copies.csv", table)
    shown = ["dataset", "copy_type", "copies", "grouped", "recall", "precision", "pairs_found", "wall_s"]
    print(table[shown].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"wrote {args.out / 'kinds-copies.csv'}")


if __name__ == "__main__":
    main()
