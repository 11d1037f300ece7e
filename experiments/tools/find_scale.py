"""`make bench-find`: `dupbench find` on ukbench800's 800 photos and on 10,000 and 100,000 images,
beside `immaculate DIR --json` on the same folders (issues 16, 24), and czkawka and perception at
their defaults. A benchmark script writing a CSV, not a test.

Folders: ukbench800 itself; synthetic, seeded, built once under results/find-scale/: crops of ukbench800's photos (a
ninth of the area at a seeded position, 160x120, JPEG quality 90, as the field's distractors but
smaller), and for every 100th image a re-encoded copy (JPEG quality 60): near duplicates to find.
Each tool runs as its own process through the peers' launcher (wall time, peak resident memory of
the process tree), after every file of the folder was read once (the same page cache for each);
cold: dupbench with a fresh cache file (a second, warm run is timed too), each with the hashes both
have (pHash; PDQ, without Immaculate's turns and flips) and up to 10,000 also with distilled SSCD.
Each hash's cold runs are repeated (--rounds, 3), alternated with Immaculate's; a row holds the
median wall time, its range and the highest peak. Rows: tool, method, N, status, wall_s (median),
wall_s_min, wall_s_max, rounds, peak_rss_mib, groups, images in groups, and dupbench's median wall
time over Immaculate's (x_immaculate).
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from dupbench.progress import Tally
from experiments.paths import REPO_ROOT
from experiments.peers.catalog import IMMACULATE, PEERS
from experiments.peers.run import run_tool
from experiments.provenance import environment, now_utc
from experiments.reporting.render import dates, markdown
from experiments.reporting.sections import Entry, Section
from experiments.tables import atomic_write_csv

OUT = REPO_ROOT / "results" / "find-scale"
SIZES = (800, 10_000, 100_000)
COPY_EVERY = 100
OTHER_PEERS = [p for p in PEERS if p.name in ("czkawka", "perception PHash")]


def build_folder(n: int, source: list[Path], folder: Path) -> Path:
    """n images (crops plus every 100th one's re-encoded copy) in sub-folders of 1,000."""
    if (folder / "DONE").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)

    def make(number: int) -> None:
        rng = np.random.default_rng([7, number])
        path = source[int(rng.integers(0, len(source)))]
        with Image.open(path) as opened:
            opened.draft("RGB", (opened.width // 2, opened.height // 2))
            image = opened.convert("RGB")
        w, h = image.size
        x, y = int(rng.integers(0, w - w // 3)), int(rng.integers(0, h - h // 3))
        crop = image.crop((x, y, x + w // 3, y + h // 3)).resize((160, 120), Image.Resampling.BILINEAR)
        target = folder / f"{number // 1000:03d}" / f"img{number:06d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        crop.save(target, quality=90)
        if number % COPY_EVERY == 0:
            crop.save(target.with_name(f"img{number:06d}-copy.jpg"), quality=60)

    originals = n - n // COPY_EVERY
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(make, range(originals)))
    (folder / "DONE").write_text(str(n))
    return folder


def read_through(folder: Path) -> None:
    """Every file of the folder read once, untimed, before each tool's run: each starts with the files in
    the page cache. The earlier order (dupbench cold, dupbench warm, then Immaculate) gave the tool run
    last the files its predecessors had read: dupbench's cold run spent ~4 s of its 10,000-image run
    reading the disk, Immaculate none."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    with ThreadPoolExecutor(4) as pool:
        for _ in pool.map(Path.read_bytes, files):
            pass


def run(command: list[str], timeout: float, folder: Path) -> dict[str, Any]:
    read_through(folder)

    try:
        stdout, wall, peak, _ = run_tool(command, timeout)
    except (OSError, RuntimeError, TimeoutError) as problem:
        return {"status": f"failed: {problem}"}
    answer = json.loads(stdout)
    groups = answer.get("groups") or [*answer.get("exact", []), *answer.get("near", [])]
    members = sum(len(g["members"]) if isinstance(g, dict) else len(g) for g in groups)
    return {"status": "ok", "wall_s": wall, "peak_rss_mib": peak, "groups": len(groups), "images_in_groups": members}


def dupbench_command(folder: Path, options: list[str], cache: Path) -> list[str]:
    # `dupbench find` exits 1 when it finds duplicates: a shell wrapper turns that into 0 for the launcher
    find = [str(Path(sys.executable).parent / "dupbench"), "find", str(folder), *options]
    find += ["--cache", str(cache), "--quiet", "--json", "-"]
    return ["sh", "-c", '"$@"; code=$?; [ $code -le 1 ] && exit 0 || exit $code', "sh", *find]


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row for a tool's runs of one command: the median wall time, its range, the highest peak memory;
    a failed or skipped run's status stands for all of them (a tool that fails once is not measured)."""
    failed = [r for r in runs if r["status"] != "ok"]
    if failed:
        return failed[0]
    walls = [r["wall_s"] for r in runs]
    counts = {(r["groups"], r["images_in_groups"]) for r in runs}
    status = "ok" if len(counts) == 1 else f"groups differ between rounds: {sorted(counts)}"
    return {
        **runs[-1],
        "status": status,
        "wall_s": float(np.median(walls)),
        "wall_s_min": min(walls),
        "wall_s_max": max(walls),
        "rounds": len(runs),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
    }


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each dupbench row's wall time over Immaculate's for the same method and folder, in the same run."""
    theirs = {(r["method"], r["n"]): r.get("wall_s") for r in rows if r["tool"] == "immaculate"}
    for row in rows:
        base = theirs.get((row["method"], row["n"]))
        row["x_immaculate"] = row["wall_s"] / base if row["tool"] != "immaculate" and base and "wall_s" in row else None
    return rows


def rows_of_other_sizes(path: Path, sizes: list[int]) -> list[dict[str, Any]]:
    """An earlier table's rows for the sizes not measured now: `--sizes 800` measures the 800 photos again
    and keeps the rest (it wrote a table of those rows alone before). Each row keeps its own stamp
    (commit, machine, time), and a ratio is only ever between rows of one size, measured together."""
    if not path.is_file():
        return []
    earlier = pd.read_csv(path)
    return earlier[~earlier["n"].isin(sizes)].to_dict("records")


def compile_bytecode() -> None:
    """dupbench's modules compiled to bytecode before any run is timed, as an installed package's are: pip
    compiles a package at install, and a checkout writes its __pycache__ at its first run. These machines
    set PYTHONDONTWRITEBYTECODE, so each run of the editable checkout compiled its ~50 modules again:
    ~60 ms of every run (`dupbench find --help`: 0.28-0.32 s, 0.22-0.25 s compiled), a cost no user's
    second run pays. Immaculate's and the other peers' packages were compiled by pip."""
    compileall.compile_dir(REPO_ROOT / "dupbench", quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES), help="measure these again; keep the rest")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--rounds", type=int, default=3, help="cold runs of each hash, alternated with Immaculate's")
    args = parser.parse_args()
    compile_bytecode()
    earlier = rows_of_other_sizes(OUT / "find-scale.csv", args.sizes)

    photos = (REPO_ROOT / "../shared/datasets/ukbench800").resolve()
    source = sorted(photos.glob("*.jpg"))
    env = environment()
    rows: list[dict[str, Any]] = []
    # (dupbench method, its threshold, immaculate's method, rounds). Immaculate's pdq also matches the 8 turns
    # and flips; dupbench's pdq_dihedral, which does, has no index yet (all pairs: hours at 100,000), so
    # the row is plain PDQ within PDQ's 31 bits: the same hash and threshold, less search work.
    # Rounds: cold runs alternated with Immaculate's, each row their median (this shared machine's runs of
    # one command vary by up to 1.5x within minutes: a run at 626cdb9 took 18.5 s for pHash at 100,000, the
    # same run again right after 12.1 s). One round for SSCD, whose cold runs take minutes.
    plan = [("phash", "10", "phash", args.rounds), ("pdq", "31", "pdq", args.rounds)]

    def methods_at(n: int) -> list[tuple[str, str, str, int]]:
        return plan + ([("sscd_distilled", "calibrated", "sscd_distilled", 1)] if n <= 10_000 else [])

    def peers_at(n: int) -> list:  # at 100,000 czkawka ran over 10 minutes (stopped), perception is all-pairs Python
        return OTHER_PEERS if n <= 10_000 else []

    runs = [2 * rounds + 1 for n in args.sizes for *_, rounds in methods_at(n)]  # cold and Immaculate's, then warm
    tally = Tally(sum(runs) + sum(len(peers_at(n)) for n in args.sizes))
    for n in sorted(args.sizes):
        # 800: ukbench800's own photos (640x480, 200 groups of 4), the folder the field measures.
        folder = photos if n == len(source) else build_folder(n, source, OUT / f"images-{n}")
        for method, threshold, theirs, rounds in methods_at(n):
            cache = OUT / f"cache-{n}-{method}.sqlite"
            ours, immaculate = [], []
            options = ["--method", method, "--threshold", threshold]
            for _ in range(rounds):
                cache.unlink(missing_ok=True)
                ours.append(run(dupbench_command(folder, options, cache), args.timeout, folder))
                tally.tell(f"find-scale: dupbench {method} N={n} cold: {ours[-1]}")
                if IMMACULATE.ready.is_file():
                    command = [str(IMMACULATE.bin / "immaculate"), str(folder), "--json", "--method", theirs]
                    immaculate.append(run(command, args.timeout, folder))
                else:
                    immaculate.append({"status": "skipped: immaculate's environment is not built (make peers)"})
                tally.tell(f"find-scale: immaculate {theirs} N={n}: {immaculate[-1]}")
            # warm: on the cache the last cold run left
            warm = run(dupbench_command(folder, options, cache), args.timeout, folder)
            tally.tell(f"find-scale: dupbench {method} N={n} warm: {warm}")
            rows.append({"tool": "dupbench find (cold cache)", "method": method, "n": n, **median_of(ours)})
            rows.append({"tool": "dupbench find (warm cache)", "method": method, "n": n, **median_of([warm])})
            rows.append({"tool": "immaculate", "method": theirs, "n": n, **median_of(immaculate)})
        for peer in peers_at(n):
            if peer.environment.ready.is_file():
                row = run(peer.command(folder), args.timeout, folder)
            else:
                row = {"status": f"skipped: {peer.environment.name}'s environment is not built (make peers)"}
            rows.append({"tool": peer.name, "method": "its default", "n": n, **median_of([row])})
            tally.tell(f"find-scale: {peer.name} N={n}: {row}")
        stamp = {"machine": env["machine"], "git_commit": env["git_commit"], "finished_at": now_utc()}
        table = pd.DataFrame(earlier + [{**r, **stamp} for r in with_ratios(rows)])
        atomic_write_csv(OUT / "find-scale.csv", table.sort_values("n", kind="stable"))
    print(f"find-scale: {OUT / 'find-scale.csv'}")


def render_find_scale(table: pd.DataFrame, source: str) -> str:

    first = table.iloc[0]
    return (
        markdown(
            table,
            {
                "tool": "",
                "method": "",
                "n": ".0f",
                "status": "",
                "wall_s": ".1f",
                "wall_s_min": ".1f",
                "wall_s_max": ".1f",
                "rounds": ".0f",
                "peak_rss_mib": ".0f",
                "groups": ".0f",
                "images_in_groups": ".0f",
                "x_immaculate": ".2f",
            },
        )
        + f"\n\nN=800: ukbench800's own photos (640x480); larger: synthetic folders (crops of ukbench800 at 160x120, "
        f"every 100th re-encoded as a near copy). Each tool a whole process (start-up included), peak resident "
        f"memory of its process tree (the highest of its rounds); wall_s: the median of its rounds (cold runs "
        f"alternated with Immaculate's); x_immaculate: that median over Immaculate's, same method and folder, "
        f"same run. Measured on "
        f"{first['machine']}, {dates(table)}, {commits_of(table)}. Source: `{source}`."
    )


def commits_of(table: pd.DataFrame) -> str:
    """The commit measured, or each commit with its sizes where `--sizes` measured some again later."""
    commits = list(dict.fromkeys(table["git_commit"].astype(str)))
    if len(commits) == 1:
        return f"commit {commits[0]}"
    sizes = {c: sorted({int(n) for n in table.loc[table["git_commit"].astype(str) == c, "n"]}) for c in commits}
    return "commits " + ", ".join(f"{c} (N={'/'.join(map(str, sizes[c]))})" for c in commits)


ENTRY = Entry(
    key="find-scale",
    title="dupbench find on 800, 10,000 and 100,000 images, beside Immaculate, czkawka and perception",
    output="find-scale",
    section=Section(table="find-scale.csv", render=render_find_scale),
    per_dataset=False,
)


if __name__ == "__main__":
    main()
