"""Running a peer tool as its users do: the files staged in a fresh folder, the tool's whole command
in its own environment, its wall time and peak memory (through launch.py), its groups read from its
JSON. evaluate_peer is the one way the benchmarks run and score a peer (the peers runner, the field,
the kinds benchmark, copies_bench); find-scale times the tools' commands through run_tool."""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.data import Dataset
from experiments.evaluation.field_metrics import group_codes
from experiments.evaluation.group_metrics import group_scores
from experiments.peers.catalog import Peer

LAUNCHER = Path(__file__).resolve().parent / "launch.py"


def stage(dataset: Dataset, folder: Path) -> None:
    """The data set's files, and nothing else, under `folder` with their manifest paths."""
    for item in dataset.items:
        target = folder / item.key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.path, target)


@contextlib.contextmanager
def staged(dataset: Dataset) -> Iterator[Path]:
    """A fresh temporary folder holding the data set's files (stage), removed afterwards: stage once,
    run several peers on it."""
    with tempfile.TemporaryDirectory(prefix="dupbench-peers-") as tmp:
        folder = Path(tmp) / dataset.name
        stage(dataset, folder)
        yield folder


def evaluate_peer(
    peer: Peer, dataset: Dataset, timeout: float, among: Sequence[bool] | None = None, folder: Path | None = None
) -> dict[str, Any]:
    """The one way the benchmarks run and score a peer: the tool run as its users run it (run_peer) on
    the data set's files, staged in a fresh folder (or in `folder`, from `staged(dataset)`).

    Returns `status`, and when it is "ok": version, wall_s, peak_rss_mib, images_per_s and
    - `pairs`, `pairs_all`: score_pairs of every pair inside one of the tool's own groups, among the
      images `among` flags (a half) and among all;
    - `groups`: group_scores of its groups merged where they share an image (what a person sees);
    - `merged`: those merged groups, as the data set's keys.
    The pair and group figures differ where a tool's groups overlap (imagededup lists each image's
    duplicates): the peers and field tables have always counted the tool's own pairs, the kinds table
    the merged groups, and each keeps its meaning."""
    if folder is None:
        with staged(dataset) as fresh:
            return evaluate_peer(peer, dataset, timeout, among, fresh)
    outcome = run_peer(peer, folder, timeout)
    if outcome["status"] != "ok":
        return {"status": outcome["status"]}
    keys = [item.key for item in dataset.items]
    codes = group_codes(dataset.groups)
    found = index_pairs(outcome["answer"], folder, keys)
    merged = peer_groups(outcome["answer"], folder, keys)
    return {
        "status": "ok",
        "version": outcome["version"],
        "wall_s": outcome["wall_s"],
        "peak_rss_mib": outcome["peak_rss_mib"],
        "images_per_s": len(keys) / outcome["wall_s"],
        "pairs": score_pairs(found, codes, among),
        "pairs_all": score_pairs(found, codes),
        "groups": group_scores(merged, codes),
        "merged": [[keys[i] for i in members] for members in merged],
    }


def run_tool(command: list[str], timeout: float) -> tuple[str, float, float, str]:
    """stdout, wall seconds, peak RSS in MiB of the tool's process tree (through the launcher), stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "usage.json"
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-S", str(LAUNCHER), str(report), *command],
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"no answer within {timeout:.0f} s") from None
        wall = time.perf_counter() - start
        if done.returncode:
            last = [line for line in done.stderr.strip().splitlines() if line.strip()][-1:] or [
                f"exit {done.returncode}"
            ]
            raise RuntimeError(f"exit {done.returncode}: {last[0][:300]}")
        usage = json.loads(report.read_text())
    return done.stdout, wall, usage["peak_rss_kib"] / 1024.0, done.stderr


def run_peer(peer: Peer, folder: Path, timeout: float) -> dict[str, Any]:
    """The peer on `folder`: status, its answer, version, wall time and peak memory; a peer whose
    environment is not built, or that fails, is a status with the reason."""
    env = peer.environment
    if not env.ready.is_file():
        failed = env.folder / "FAILED"
        reason = failed.read_text().strip() if failed.is_file() else "environment not built: make peers"
        return {"status": f"skipped: {reason}"}
    try:
        stdout, wall, peak, _ = run_tool(peer.command(folder), timeout)
        answer = json.loads(stdout)
    except (OSError, RuntimeError, TimeoutError, json.JSONDecodeError) as problem:
        return {"status": f"failed: {problem}"}
    version = answer.get("version") or env.packages[0].partition("==")[2]  # a pin where its JSON has none
    return {"status": "ok", "answer": answer, "version": version, "wall_s": wall, "peak_rss_mib": peak}


def groups_of(answer: Mapping[str, Any]) -> list[list[str]]:
    """Groups from a peer's JSON: `groups`, or Immaculate's `exact` and `near`."""
    return [list(g) for key in ("groups", "exact", "near") for g in answer.get(key, [])]


def relative_key(path: str, folder: Path) -> str:
    p = Path(path)
    return str(p.relative_to(folder) if p.is_absolute() else p)


def peer_groups(answer: Mapping[str, Any], folder: Path, keys: Sequence[str]) -> list[list[int]]:
    """A peer's groups as image indices (its groups that share an image merged: a person would see
    them as one set of copies)."""
    index = {key: i for i, key in enumerate(keys)}
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for group in groups_of(answer):
        members = [index[relative_key(p, folder)] for p in group if relative_key(p, folder) in index]
        for a, b in itertools.pairwise(members):
            parent[root(a)] = root(b)
    sets: dict[int, list[int]] = {}
    for i in range(len(keys)):
        sets.setdefault(root(i), []).append(i)
    return [members for members in sets.values() if len(members) > 1]


def pairs_in(groups: list[list[str]], folder: Path) -> set[frozenset[str]]:
    return {
        frozenset((relative_key(a, folder), relative_key(b, folder)))
        for group in groups
        for a, b in itertools.combinations(group, 2)
        if a != b
    }


def index_pairs(answer: Mapping[str, Any], folder: Path, keys: Sequence[str]) -> set[tuple[int, int]]:
    """Every pair of images a peer put in one of its groups, as sorted index pairs."""
    index = {key: i for i, key in enumerate(keys)}
    found = set()
    for pair in pairs_in(groups_of(answer), folder):
        members = sorted(index[k] for k in pair if k in index)
        if len(members) == 2:
            found.add((members[0], members[1]))
    return found


def score_pairs(found: set[tuple[int, int]], codes: Sequence[int], among: Sequence[bool] | None = None) -> dict:
    """Pairs found, true pairs, precision and recall of a peer's pairs against group codes; with
    `among`, only the pairs of those images count (a half of the data set)."""

    codes = np.asarray(codes)
    keep = np.ones(len(codes), dtype=bool) if among is None else np.asarray(among, dtype=bool)
    calls = [(a, b) for a, b in found if keep[a] and keep[b]]
    members = np.bincount(codes[keep], minlength=codes.max() + 1 if len(codes) else 0)
    truth = int((members * (members - 1) // 2).sum())
    hits = sum(codes[a] == codes[b] for a, b in calls)
    return {
        "pairs_found": len(calls),
        "true_pairs": truth,
        "precision": hits / len(calls) if calls else float("nan"),
        "recall": hits / truth if truth else float("nan"),
    }
