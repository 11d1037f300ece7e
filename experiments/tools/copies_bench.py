"""Issue 39's measure: `dupbench find` under several rules on a person's folder and on a folder of
look-alikes (experiments/data/copies.py), scored per kind, per copy type and per half, never as a mean
over kinds.

    .venv/bin/python -m experiments.tools.copies_bench [--variants default verify ...] [--per-kind 8]

Writes results/copies/copies.csv, one row per (variant, folder, half, kind, measure):
- measure "pairs": pairwise precision and recall of the groups among that kind's files (a found pair
  that joins two kinds counts against both), and the distinct images (no copy anywhere) grouped;
- measure "<copy type>": of each original's copy of that type, how many are grouped with it;
- measure "burst<N>": the pairs of a burst of N grouped together;
- in the look-alike folder, "pairs" counts a look-alike grouped with its original as a false pair, and
  "lookalike copy" is the recall of a look-alike's own copy.
with the variant's options, its wall time, the git commit and the machine. Run in this process (the
finder's code, as `dupbench find` runs it), each variant with a fresh cache.

`--peers [NAME ...]` (none by default; alone: every peer) adds the peer tools, each run as every
benchmark runs a peer (experiments.peers.run.evaluate_peer: the folder's files staged, the tool's
own command at its defaults) and its groups, merged where they share a file, scored by the same code
as find's; variant = the peer's name, options = its default in words, with its version.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from dupbench.finder.cli import main as dupbench_main
from experiments.data import Dataset
from experiments.data.copies import BURST_SIZES, COPY_TYPES, ensure_built
from experiments.data.loader import read_manifest
from experiments.paths import REPO_ROOT
from experiments.peers.catalog import NO_BACKGROUND, PEERS, Peer
from experiments.peers.run import evaluate_peer
from experiments.provenance import git_commit, machine, now_utc
from experiments.tables import atomic_write_csv

UKBENCH = REPO_ROOT.parent / "shared" / "datasets" / "ukbench800"
DATA = REPO_ROOT / "data" / "generated"
OUT = REPO_ROOT / "results" / "copies"
LOOSE = ["--method", "sscd_distilled", *NO_BACKGROUND]
VARIANTS = {
    "default": [],  # issue 39's two stages: TWO_STAGES by name
    "views": ["--views"],  # the calibrated one-stage rule, the default before
    "sscd 0.5": [*LOOSE, "--threshold", "0.5"],  # the default's candidates, unverified
    # The hashes as candidates for the same verification (their calibrated thresholds find few re-saves).
    "phash 24 --verify": ["--method", "phash", *NO_BACKGROUND, "--threshold", "24", "--verify"],
    "pdq 96 --verify": ["--method", "pdq", *NO_BACKGROUND, "--threshold", "96", "--verify"],
}


def found_groups(folder: Path, argv: list[str]) -> tuple[dict[str, int], float]:
    """Each file's found group (files in no group: none), and the run's wall time."""
    groups, wall = groups_in_process(folder, argv)
    return {path.name: g for g, members in enumerate(groups) for path in members}, wall


def groups_in_process(folder: Path, argv: list[str]) -> tuple[list[list[Path]], float]:
    """The groups `dupbench find FOLDER ARGV` forms in this process with a fresh cache (their members' paths as
    find reports them), and its wall time."""
    with tempfile.TemporaryDirectory(prefix="dupbench-copies-") as tmp:
        out = Path(tmp) / "found.json"
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the summary a person reads: not this table's
            code = dupbench_main(["find", str(folder), *argv, "--cache", str(Path(tmp) / "cache"), "--quiet",
                              "--json", str(out)])  # fmt: skip
        wall = time.perf_counter() - start
        if code not in (0, 1):
            raise RuntimeError(f"dupbench find {' '.join(argv)} exited {code}")
        answer = json.loads(out.read_text())
    return [[Path(m["path"]) for m in group["members"]] for group in answer["groups"]], wall


def scored(manifest: pd.DataFrame, group_of: dict[str, int], lookalikes: bool) -> list[dict]:
    files = manifest.assign(found=[group_of.get(Path(p).name, -1 - i) for i, p in enumerate(manifest["path"])])
    files["kind"], files["half"] = zip(*(s.split(" ") for s in files["source"]))
    # A look-alike's group is its own (kind-number-which): the truth is the manifest's group.
    rows = []
    by_found = files.groupby("found")
    pairs_found: Counter = Counter()
    true_found: Counter = Counter()
    for _, members in by_found:
        if len(members) < 2:
            continue
        for (_, a), (_, b) in itertools.combinations(members.iterrows(), 2):
            for key in {(a["kind"], a["half"]), (b["kind"], b["half"])}:
                pairs_found[key] += 1
                true_found[key] += a["group"] == b["group"] and a["kind"] == b["kind"]
    for (kind, half), part in files.groupby(["kind", "half"]):
        sizes = part.groupby("group").size()
        true_pairs = int((sizes * (sizes - 1) // 2).sum())
        distinct = part[part["edit"] == "distinct"]
        in_groups = distinct["found"].map(by_found.size()).fillna(1)
        found = pairs_found[(kind, half)]
        right = true_found[(kind, half)]
        rows.append({"half": half, "kind": kind, "measure": "pairs", "true_pairs": true_pairs, "found_pairs": found,
                     "found_true": right, "precision": right / found if found else float("nan"),
                     "recall": right / true_pairs if true_pairs else float("nan"),
                     "distinct": len(distinct), "distinct_grouped": int((in_groups > 1).sum())})  # fmt: skip
        rows += copy_recall(part, half, kind, lookalikes)
    return rows


def copy_recall(part: pd.DataFrame, half: str, kind: str, lookalikes: bool) -> list[dict]:
    """Recall of each copy type (a copy grouped with its original), of each burst's pairs, and in the
    look-alike folder of each look-alike's copy."""
    rows = []
    if lookalikes:
        copies = part[part["edit"].str.endswith(" copy")]
        firsts = part[~part["edit"].str.endswith(" copy")].set_index("group")["found"]
        hit = int((copies["found"].to_numpy() == firsts.reindex(copies["group"]).to_numpy()).sum())
        return [{"half": half, "kind": kind, "measure": "lookalike copy", "true_pairs": len(copies), "found_true": hit,
                 "recall": hit / len(copies) if len(copies) else float("nan")}]  # fmt: skip
    originals = part[part["edit"] == "original"].set_index("group")["found"]
    for copy_type in COPY_TYPES:
        copies = part[part["edit"] == copy_type]
        if copies.empty:
            continue
        hit = int((copies["found"].to_numpy() == originals.reindex(copies["group"]).to_numpy()).sum())
        rows.append({"half": half, "kind": kind, "measure": copy_type, "true_pairs": len(copies), "found_true": hit,
                     "recall": hit / len(copies)})  # fmt: skip
    for size in BURST_SIZES:
        shots = part[part["group"].str.startswith(f"burst{size}-")]
        if shots.empty:
            continue
        together = sum(n * (n - 1) // 2 for n in shots.groupby("found").size() if len(shots) > 1)
        rows.append({"half": half, "kind": kind, "measure": f"burst{size}", "true_pairs": size * (size - 1) // 2,
                     "found_true": together, "recall": together / (size * (size - 1) // 2)})  # fmt: skip
    return rows


def peer_rows(peer: Peer, name: str, folder: Path, timeout: float) -> list[dict]:
    """A peer on a built folder, run and scored as the benchmarks run one, its merged groups scored as
    find's groups are; a peer that did not run is one row with its status."""
    items = read_manifest(folder / "MANIFEST.csv", folder)
    manifest = pd.read_csv(folder / "MANIFEST.csv")
    outcome = evaluate_peer(peer, Dataset(folder.name, folder, tuple(items), {}), timeout)
    common = {"variant": peer.name, "options": peer.default, "folder": name, "images": len(manifest)}
    print(f"{peer.name:28} {name:10} {outcome.get('wall_s', float('nan')):6.1f} s {outcome['status']}", flush=True)
    if outcome["status"] != "ok":
        return [{**common, "status": outcome["status"]}]
    group_of = {Path(key).name: g for g, members in enumerate(outcome["merged"]) for key in members}
    common.update(wall_s=round(outcome["wall_s"], 2), version=outcome["version"], status="ok")
    return [{**common, **row} for row in scored(manifest, group_of, lookalikes=name == "lookalikes")]


def measure(folders: dict[str, Path], variants: list[str], peers: list[Peer], timeout: float) -> list[dict]:
    """Every variant of find, then every peer, on every folder: the table's rows."""
    rows = []
    for variant in variants:
        for name, folder in folders.items():
            manifest = pd.read_csv(folder / "MANIFEST.csv")
            group_of, wall = found_groups(folder, VARIANTS[variant])
            for row in scored(manifest, group_of, lookalikes=name == "lookalikes"):
                rows.append({"variant": variant, "options": " ".join(VARIANTS[variant]), "folder": name,
                             "images": len(manifest), "wall_s": round(wall, 2), **row})  # fmt: skip
            print(f"{variant:28} {name:10} {wall:6.1f} s", flush=True)
    for peer in peers:
        for name, folder in folders.items():
            rows += peer_rows(peer, name, folder, timeout)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--peers", nargs="*", default=None, choices=[p.name for p in PEERS],
                        help="peer tools too (default: none; the option alone: every peer)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a peer may take on one folder")
    parser.add_argument("--per-kind", type=int, default=8)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    folders = {
        "person": ensure_built(DATA / "copies-person", "person", UKBENCH, per_kind=args.per_kind),
        "lookalikes": ensure_built(DATA / "copies-lookalikes", "lookalikes", UKBENCH, per_kind=args.per_kind),
    }
    peers = [] if args.peers is None else [p for p in PEERS if not args.peers or p.name in args.peers]
    rows = measure(folders, args.variants, peers, args.timeout)
    table = pd.DataFrame(rows).assign(git_commit=git_commit(), machine=machine(), finished_at=now_utc())
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(args.out / "copies.csv", table)
    if "half" not in table:  # nothing scored: only peers that did not run
        return
    report = table[table["half"] == "report"]
    print(
        report.pivot_table(index=["folder", "kind", "measure"], columns="variant", values="recall").round(3).to_string()
    )
    pairs = report[report["measure"] == "pairs"]
    print(pairs.pivot_table(index=["folder", "kind"], columns="variant", values="precision").round(3).to_string())


if __name__ == "__main__":
    main()
