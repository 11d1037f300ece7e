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
Rows: tool, method, N, status, wall_s, peak_rss_mib, groups, images in groups, and dupbench's wall
time over Immaculate's (x_immaculate).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

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


def dupbench_command(folder: Path, method: str, threshold: str, cache: Path) -> list[str]:
    # `dupbench find` exits 1 when it finds duplicates: a shell wrapper turns that into 0 for the launcher
    find = [str(Path(sys.executable).parent / "dupbench"), "find", str(folder), "--method", method]
    find += ["--threshold", threshold, "--cache", str(cache), "--quiet", "--json", "-"]
    return ["sh", "-c", '"$@"; code=$?; [ $code -le 1 ] && exit 0 || exit $code', "sh", *find]


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each dupbench row's wall time over Immaculate's for the same method and folder, in the same run."""
    theirs = {(r["method"], r["n"]): r.get("wall_s") for r in rows if r["tool"] == "immaculate"}
    for row in rows:
        base = theirs.get((row["method"], row["n"]))
        row["x_immaculate"] = row["wall_s"] / base if row["tool"] != "immaculate" and base and "wall_s" in row else None
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

    photos = (REPO_ROOT / "../shared/datasets/ukbench800").resolve()
    source = sorted(photos.glob("*.jpg"))
    env = environment()
    rows: list[dict[str, Any]] = []
    # (dupbench method, its threshold, immaculate's method). Immaculate's pdq also matches the 8 turns
    # and flips; dupbench's pdq_dihedral, which does, has no index yet (all pairs: hours at 100,000), so
    # the row is plain PDQ within PDQ's 31 bits: the same hash and threshold, less search work.
    plan = [("phash", "10", "phash"), ("pdq", "31", "pdq")]
    for n in sorted(args.sizes):
        # 800: ukbench800's own photos (640x480, 200 groups of 4), the folder the field measures.
        folder = photos if n == len(source) else build_folder(n, source, OUT / f"images-{n}")
        for method, threshold, theirs in plan + (
            [("sscd_distilled", "calibrated", "sscd_distilled")] if n <= 10_000 else []
        ):
            cache = OUT / f"cache-{n}-{method}.sqlite"
            cache.unlink(missing_ok=True)
            for label in ("cold", "warm"):
                row = run(dupbench_command(folder, method, threshold, cache), args.timeout, folder)
                rows.append({"tool": f"dupbench find ({label} cache)", "method": method, "n": n, **row})
                print(f"find-scale: dupbench {method} N={n} {label}: {row}", flush=True)
            if IMMACULATE.ready.is_file():
                command = [str(IMMACULATE.bin / "immaculate"), str(folder), "--json", "--method", theirs]
                row = run(command, args.timeout, folder)
            else:
                row = {"status": "skipped: immaculate's environment is not built (make peers)"}
            rows.append({"tool": "immaculate", "method": theirs, "n": n, **row})
            print(f"find-scale: immaculate {theirs} N={n}: {row}", flush=True)
        # At 100,000 czkawka ran over 10 minutes (stopped) and perception compares all pairs in Python.
        for peer in OTHER_PEERS if n <= 10_000 else []:
            if peer.environment.ready.is_file():
                row = run(peer.command(folder), args.timeout, folder)
            else:
                row = {"status": f"skipped: {peer.environment.name}'s environment is not built (make peers)"}
            rows.append({"tool": peer.name, "method": "its default", "n": n, **row})
            print(f"find-scale: {peer.name} N={n}: {row}", flush=True)
        stamp = {"machine": env["machine"], "git_commit": env["git_commit"], "finished_at": now_utc()}
        atomic_write_csv(OUT / "find-scale.csv", pd.DataFrame([{**r, **stamp} for r in with_ratios(rows)]))
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
                "peak_rss_mib": ".0f",
                "groups": ".0f",
                "images_in_groups": ".0f",
                "x_immaculate": ".2f",
            },
        )
        + f"\n\nN=800: ukbench800's own photos (640x480); larger: synthetic folders (crops of ukbench800 at 160x120, "
        f"every 100th re-encoded as a near copy). Each tool a whole process (start-up included), peak resident "
        f"memory of its process tree; x_immaculate: wall time over Immaculate's, same method and folder, same run. "
        f"Measured on "
        f"{first['machine']}, {dates(table)}, commit {first['git_commit']}. Source: `{source}`."
    )


ENTRY = Entry(
    key="find-scale",
    title="dupbench find on 800, 10,000 and 100,000 images, beside Immaculate, czkawka and perception",
    output="find-scale",
    section=Section(table="find-scale.csv", render=render_find_scale),
    per_dataset=False,
)


if __name__ == "__main__":
    main()
