"""Issue 39's time: `dupbench find` at its default (the two stages) and under --views, beside Immaculate's distilled
SSCD, on the person's folder and the look-alike folder of experiments/data/copies.py, and with `--crops N`
on find_scale's folder of N images too (160 x 120 crops of ukbench800's photos, every 100th with a JPEG 60
copy: the issue's 10,000). Whole process, as a person runs each command, cold (a fresh cache file), each run
alternated with Immaculate's, through find_scale's launcher (the folder read once before each run). A
benchmark script printing a table, not a test: these machines are shared, so read the ratios within one run.

    .venv/bin/python -m experiments.tools.copies_speed [--rounds 1] [--crops 10000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from experiments.data.copies import ensure_built
from experiments.peers.catalog import IMMACULATE
from experiments.provenance import git_commit, machine
from experiments.tools.copies_bench import DATA, UKBENCH
from experiments.tools.find_scale import OUT, build_folder, compile_bytecode, dupbench_command, run

RULES = {"dupbench default": [], "dupbench views": ["--views"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--crops", type=int, default=0, help="find_scale's folder of this many images too")
    args = parser.parse_args()
    compile_bytecode()
    immaculate = [str(IMMACULATE.bin / "immaculate"), "--json", "--method", "sscd_distilled"]
    rows = []
    folders = {
        name: ensure_built(DATA / f"copies-{name}", name, UKBENCH, per_kind=8) for name in ("person", "lookalikes")
    }
    if args.crops:
        folders[f"crops-{args.crops}"] = build_folder(
            args.crops, sorted(UKBENCH.glob("*.jpg")), OUT / f"images-{args.crops}"
        )
    for name, folder in folders.items():
        for round_ in range(args.rounds):
            for rule, options in RULES.items():
                with tempfile.TemporaryDirectory(prefix="dupbench-speed-") as tmp:
                    ours = run(dupbench_command(folder, options, Path(tmp) / "cache"), args.timeout, folder)
                theirs = run([immaculate[0], str(folder), *immaculate[1:]], args.timeout, folder)
                rows.append({"folder": name, "round": round_, "rule": rule, "dupbench_s": ours.get("wall_s"),
                             "immaculate_sscd_distilled_s": theirs.get("wall_s"),
                             "status": f"{ours['status']}, {theirs['status']}"})  # fmt: skip
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows).assign(ratio=lambda t: t.dupbench_s / t.immaculate_sscd_distilled_s)
    print(table.round(2).to_string(index=False))
    print(f"git {git_commit()}, {machine()}")


if __name__ == "__main__":
    main()
