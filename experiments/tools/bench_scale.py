"""`make bench-scale`: what each method costs the article's way and done right, and how the fast
engine grows with the number of images. A benchmark script writing a CSV and a plot, not a test.

Part 1, in the same run per method, on the Fruits-360 subset (96 images; the embedded set if absent):
  - article: the article's loop, prepare both images + score, timed per pair, on an evenly spread
    sample of the protocol's 2,280 pairs (`--article-pairs`, default 300);
  - fast: prepare_many on all images (no feature cache: the CNN's forward passes are in it) plus
    score_matrix over all pairs, divided by the number of distinct pairs; best of 3;
  - ratio = article s/pair / fast s/pair. For the CNN also the floor it is measured against: the
    batched forward passes alone on ready tensors plus one Gram matrix of the features.
Part 2, per method and N (default 1,000, 10,000, 100,000): N synthetic 32x32 images (deterministic:
seeded 4x4 colour fields, upscaled, plus noise), prepared by the fast engine and searched for each
image's top 10 (methods.search: the exact flat search, or blocked score matrices), each cell in its own
process so its peak resident memory is its own. A cell predicted (from the previous N, scaling as
N for preparing, N^2 for the search) to take longer than `--budget` seconds (default 240) is
recorded as skipped with the prediction, not run.
Part 3 (`--parts ann`, issues 17, 25): approximate search at 1,000,000 synthetic 512-d unit vectors (the
size of an SSCD descriptor; clustered, so that neighbours are near as real near-duplicates are):
faiss IVF (IVF1024 with Flat, SQ8 and PQ64 lists) and HNSW (32 links) against the exact flat index,
each in its own process: the knob (nprobe, efSearch) chosen on 1,000 queries as the smallest reaching
0.95, once for recall@10 and once for the near duplicates' recall (a query's own cluster among its
exact top 10), then build time, search time, both recalls and bytes per vector reported on 1,000 others.
Rows of the same part replace the old ones; the other parts' rows are kept.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from dupbench.files import atomic_write_text
from dupbench.methods import create_method, method_names
from dupbench.methods.search import top_k
from dupbench.methods.tensors import load_torchvision
from dupbench.progress import Tally
from experiments.config import compose_config
from experiments.data.images import ImageCache
from experiments.evaluation.protocol import article_pairs as protocol_pairs
from experiments.evaluation.protocol import spread_sample
from experiments.paths import REPO_ROOT
from experiments.provenance import environment, now_utc
from experiments.reporting import plots
from experiments.reporting.findings import bench_findings
from experiments.reporting.render import render_bench_scale
from experiments.reporting.sections import Entry, Section
from experiments.run import dataset_with_fallback
from experiments.runners.retrieval import distinct_pairs, time_article_loop
from experiments.tables import atomic_write_csv

SIZES = (1000, 10000, 100000)
SIDE = 32


def synthetic_images(n: int, seed: int = 0) -> list:

    rng = np.random.default_rng(seed)
    fields = rng.integers(0, 256, size=(n, 4, 4, 3), dtype=np.uint8).repeat(SIDE // 4, 1).repeat(SIDE // 4, 2)
    noisy = np.clip(fields.astype(np.int16) + rng.integers(-12, 13, size=fields.shape, dtype=np.int16), 0, 255)
    return [Image.fromarray(a) for a in noisy.astype(np.uint8)]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def best_of(runs: int, work) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def cell_small(name: str, article_pairs: int) -> dict[str, Any]:
    """Part 1 for one method: article loop vs fast engine, same process, same images."""

    images = ImageCache(dataset_with_fallback(compose_config(["dataset=fruits360", "dataset_fallback=embedded"])))
    method = create_method(name)
    load_torchvision()  # outside the timed calls, as the article's imports were
    references = images.dataset.reference_indices
    pairs = protocol_pairs(len(images), references)
    sample = spread_sample(pairs, article_pairs)
    _, seconds = time_article_loop(method, images, references, sample)
    pictures = images.all_at_common_size()
    n = len(pictures)
    distinct = distinct_pairs(method, n)
    prepare_s, prepared = best_of(3, lambda: method.prepare_many(pictures))
    score_s, _ = best_of(3, lambda: method.score_matrix(prepared, prepared, same=True))
    fast = (prepare_s + score_s) / distinct
    row = {
        "part": "article_vs_fast",
        "method": name,
        "n": n,
        "dataset": images.dataset.name,
        "article_pairs_timed": len(sample),
        "article_s_per_pair": float(np.mean(seconds)),
        "fast_s_per_pair": fast,
        "speedup": float(np.mean(seconds)) / fast,
        "prepare_s": prepare_s,
        "score_s": score_s,
        "total_s": prepare_s + score_s,
        "backbone": method.describe()["backbone"],
    }
    floor = method.floor(pictures)  # the CNN: forward passes on ready batches, then one Gram matrix
    if floor is not None:
        forward_s, features = best_of(3, floor)
        gram_s, _ = best_of(3, lambda: features @ features.T)
        row.update({"floor_s": forward_s + gram_s, "total_over_floor": (prepare_s + score_s) / (forward_s + gram_s)})
    return row


def cell_scale(name: str, n: int, k: int = 10) -> dict[str, Any]:

    method = create_method(name)
    images = synthetic_images(n)
    start = time.perf_counter()
    prepared = method.prepare_many(images)
    prepare_s = time.perf_counter() - start
    del images
    start = time.perf_counter()
    indices, _ = top_k(method, prepared, k)
    search_s = time.perf_counter() - start
    return {
        "part": "scale",
        "method": name,
        "n": n,
        "dataset": f"synthetic {SIDE}x{SIDE}",
        "k": k,
        "search": method.index_kind and f"flat {method.index_kind}" or "blocked score_matrix",
        "prepare_s": prepare_s,
        "search_s": search_s,
        "total_s": prepare_s + search_s,
        "pairs": n * (n - 1) / 2,
        "s_per_pair": (prepare_s + search_s) / (n * (n - 1) / 2),
        "checksum": int(indices[:, 0].sum()),
        "backbone": method.describe()["backbone"],
    }


def clustered_vectors(n: int, d: int = 512, clusters: int = 100_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors around `clusters` random centres (about n/clusters each), and each one's centre:
    each vector has a few true near neighbours (cosine ~0.7) and a million distractors (~0)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d), dtype=np.float32)
    vectors = np.empty((n, d), dtype=np.float32)
    owners = np.empty(n, dtype=np.int64)
    step = 100_000
    for start in range(0, n, step):
        stop = min(start + step, n)
        owners[start:stop] = rng.integers(0, clusters, size=stop - start)
        noise = 0.6 * rng.standard_normal((stop - start, d), dtype=np.float32)
        vectors[start:stop] = centres[owners[start:stop]] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, owners


# What each approximate index is, and the knob that trades its speed for recall: (name, factory spec,
# knob, values tried in order). IVF's nprobe = lists visited per query (1,024 is all of them: exact for
# IVF,Flat); HNSW's efSearch = candidates kept while walking the graph.
ANN_INDEXES = (
    ("IVF1024,Flat", "IVF1024,Flat", "nprobe", (8, 16, 32, 64, 128, 256, 512, 1024)),
    ("IVF1024,SQ8", "IVF1024,SQ8", "nprobe", (8, 16, 32, 64, 128, 256, 512, 1024)),
    ("IVF1024,PQ64", "IVF1024,PQ64", "nprobe", (8, 16, 32, 64, 128, 256, 512, 1024)),
    ("HNSW32", "HNSW32,Flat", "efSearch", (16, 32, 64, 128, 256, 512, 1024)),
)
ANN_TARGET = 0.95


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)]))


def near_recall(found: np.ndarray, truth: np.ndarray, owners: np.ndarray, asked: np.ndarray) -> float:
    """Recall of the near duplicates only: of each query's exact top k, those of its own cluster (its
    true near neighbours, itself included), the share found. The rest of a top 10 is the best of a
    million unrelated vectors, all at about the same score: no duplicate finder needs them."""
    shares = []
    for row, exact, owner in zip(found, truth, owners[asked]):
        mates = {j for j in exact.tolist() if owners[j] == owner}
        shares.append(len(mates & set(row.tolist())) / len(mates))
    return float(np.mean(shares))


def set_knob(index, knob: str, value: int) -> None:
    import faiss

    if knob == "nprobe":
        faiss.extract_index_ivf(index).nprobe = value
    else:
        faiss.downcast_index(index).hnsw.efSearch = value


def cell_ann(
    name: str, n: int, k: int = 10, queries: int = 1000, d: int = 512, target: float = ANN_TARGET
) -> list[dict[str, Any]]:
    """One index at n vectors, in its own process (its peak memory is its own); two rows, one per
    recall it is tuned for (`tuned_for`): recall@10 against the exact index, and the near duplicates'
    recall (`near_recall`). The knob is chosen on one set of queries (the smallest value whose recall
    reaches `target`, else the best tried) and each row reports recall and time on a second, disjoint
    set: a setting fitted on some queries is measured on others."""
    import faiss

    vectors, owners = clustered_vectors(n, d=d, clusters=max(1, n // 10))
    rng = np.random.default_rng(1)
    chosen = rng.choice(n, size=2 * queries, replace=False)
    tune, report = chosen[:queries], chosen[queries:]
    start = time.perf_counter()
    flat = faiss.IndexFlatIP(d)
    flat.add(vectors)
    flat_build = time.perf_counter() - start
    start = time.perf_counter()
    _, truth_report = flat.search(vectors[report], k)
    flat_search = time.perf_counter() - start
    row: dict[str, Any] = {
        "part": "ann",
        "method": f"synthetic {d}-d (cosine)",
        "n": n,
        "k": k,
        "queries": queries,
        "target_recall": target,
    }
    if name == "Flat":
        exact = {"build_s": flat_build, "search_s": flat_search, "recall_at_10": 1.0, "near_recall": 1.0}
        return [{**row, "index": "Flat (exact)", **exact, "reaches_target": True, "bytes_per_vector": d * 4}]
    _, truth_tune = flat.search(vectors[tune], k)
    del flat
    label, spec, knob, values = next(entry for entry in ANN_INDEXES if entry[0] == name)
    start = time.perf_counter()
    index = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(vectors[rng.choice(n, size=min(n, 60_000), replace=False)])
    index.add(vectors)
    build = time.perf_counter() - start
    bytes_per_vector = faiss.serialize_index(index).nbytes / n
    measures = {
        "recall_at_10": lambda found, truth, asked: recall_at(found, truth),
        "near_recall": lambda found, truth, asked: near_recall(found, truth, owners, asked),
    }
    tried: list[tuple[int, dict[str, float]]] = []
    for value in values:  # loosest last: stop once both recalls reach the target
        set_knob(index, knob, value)
        _, found = index.search(vectors[tune], k)
        tried.append((value, {m: f(found, truth_tune, tune) for m, f in measures.items()}))
        if min(tried[-1][1].values()) >= target:
            break
    rows = []
    for tuned_for in measures:
        reached = [(v, r) for v, r in tried if r[tuned_for] >= target]
        value, tuned = reached[0] if reached else max(tried, key=lambda t: (t[1][tuned_for], t[0]))
        set_knob(index, knob, value)
        index.search(vectors[report[:10]], k)  # untimed: the first call's thread start-up is not the index's
        start = time.perf_counter()
        _, found = index.search(vectors[report], k)
        search = time.perf_counter() - start
        measured = {m: f(found, truth_report, report) for m, f in measures.items()}
        rows.append(
            {
                **row,
                "index": f"{label} {knob}={value}",
                "tuned_for": tuned_for,
                "knob": knob,
                "knob_value": value,
                "knobs_tried": " ".join(f"{v}:{r[tuned_for]:.3f}" for v, r in tried),
                "tuned_recall": tuned[tuned_for],
                "build_s": build,
                "search_s": search,
                **measured,
                "reaches_target": measured[tuned_for] >= target,
                "bytes_per_vector": bytes_per_vector,
                "speedup_vs_flat": flat_search / search,
            }
        )
    return rows


def child(*args: str, timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "experiments.tools.bench_scale", "--cell", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout:.0f} s"}
    if done.returncode:
        return {"status": f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"}
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return {"status": "ok", **({"rows": answer} if isinstance(answer, list) else answer)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--budget", type=float, default=240.0, help="skip a scale cell predicted to take longer (s)")
    parser.add_argument("--article-pairs", type=int, default=300)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "bench-scale")
    parser.add_argument("--parts", nargs="*", default=["methods"], choices=("methods", "ann"))
    parser.add_argument("--ann-n", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.cell:
        kind, name, value = args.cell
        if kind == "ann":
            print(json.dumps([{**row, "peak_rss_mib": peak_rss_mib()} for row in cell_ann(name, int(value))]))
            return
        row = cell_small(name, int(value)) if kind == "small" else cell_scale(name, int(value))
        print(json.dumps({**row, "peak_rss_mib": peak_rss_mib()}))
        return

    env = environment()
    out = args.out
    # Rows of the parts not run this time are kept (a run of one part replaces only its own rows).
    parts_run = {"methods": ("article_vs_fast", "scale"), "ann": ("ann",)}
    replaced = {part for name in args.parts for part in parts_run[name]}
    old = pd.read_csv(out / "scale.csv") if (out / "scale.csv").is_file() else pd.DataFrame()
    rows: list[dict[str, Any]] = [] if old.empty else old[~old["part"].isin(replaced)].to_dict("records")
    stamp = {
        "machine": env["machine"],
        "torch_threads": env["threads"]["torch_num_threads"],
        "git_commit": env["git_commit"],
        "finished_at": now_utc(),
    }

    def save() -> None:  # after every cell: an interrupted benchmark keeps what it measured
        table = pd.DataFrame(rows)
        atomic_write_csv(out / "scale.csv", table)
        if not table.empty:
            plots.scale(table, out / "scale.png")

    indexes = ("Flat", *(entry[0] for entry in ANN_INDEXES)) if "ann" in args.parts else ()
    methods = (args.methods or method_names()) if "methods" in args.parts else []
    tally = Tally(len(indexes) + len(methods) * (1 + len(args.sizes)), "cells")
    if indexes:
        for name in indexes:
            outcome = child("ann", name, str(args.ann_n), timeout=3600)
            made = outcome.pop("rows", None) or [{"index": name}]
            for row in made:
                rows.append({"part": "ann", "n": args.ann_n, **row, "status": outcome["status"], **stamp})
                nan = float("nan")
                print(
                    f"bench-scale: ann {row['index']} N={args.ann_n} ({row.get('tuned_for', 'exact')}): build "
                    f"{row.get('build_s', nan):.1f} s, search {row.get('search_s', nan):.2f} s, recall@10 "
                    f"{row.get('recall_at_10', nan):.3f}, near {row.get('near_recall', nan):.3f} ({outcome['status']})",
                    flush=True,
                )
            save()
            tally.tell(f"bench-scale: ann {name} N={args.ann_n}: {outcome['status']}")
    for name in methods:
        rows.append({**child("small", name, str(args.article_pairs), timeout=1800), **stamp})
        tally.tell(
            f"bench-scale: {name} at N=96: {rows[-1].get('speedup', float('nan')):.1f}x faster per pair "
            f"({rows[-1]['status']})"
        )
        save()
        last = None
        for k, n in enumerate(sorted(args.sizes)):
            # preparing grows as N, the all-pairs search as N^2
            predicted = last["prepare_s"] * n / last["n"] + last["search_s"] * (n / last["n"]) ** 2 if last else None
            if predicted is not None and predicted > args.budget:
                rows.append(
                    {"part": "scale", "method": name, "n": n, "status": "skipped", "predicted_s": predicted, **stamp}
                )
                tally.tell(
                    f"bench-scale: {name} N={n}: skipped, predicted {predicted:.0f} s > budget {args.budget:.0f} s"
                )
                save()
                continue
            row = {**child("scale", name, str(n), timeout=max(args.budget * 4, 600)), **stamp}
            rows.append(row)
            tally.tell(
                f"bench-scale: {name} N={n}: {row.get('total_s', float('nan')):.2f} s, peak "
                f"{row.get('peak_rss_mib', float('nan')):.0f} MiB ({row['status']})"
            )
            save()
            last = row if row["status"] == "ok" else None
            if last is None:
                for larger in sorted(args.sizes)[k + 1 :]:
                    tally.tell(f"bench-scale: {name} N={larger}: not run (N={n} did not finish)")
                break
    atomic_write_text(out / "environment.json", json.dumps(env, indent=2, default=str))
    print(f"bench-scale: {out / 'scale.csv'}, {out / 'scale.png'}")


ENTRY = Entry(
    key="bench-scale",
    title="Fast engine against the article's loop, and at scale",
    output="bench-scale",
    section=Section(
        table="scale.csv",
        render=render_bench_scale,
        findings=bench_findings,
        plots=(("scale.png", "speed-up per pair and time against N"),),
        redraw=plots.scale,
    ),
    per_dataset=False,
)


if __name__ == "__main__":
    main()
