"""`make bench-cnn`: what the article's CNN costs per pair against pixel cosine, timed as the article
ran it (autograd on), and how much of the gap to its ~250x is the backbone (B0 against Lite0).

In one process, on an evenly spread sample of Experiment 1's pairs (Fruits-360, else the embedded
set), the article's loop (prepare both images + score, timed per pair) for:
- `cosine`, the reference every ratio is taken against (same run, same pairs);
- `cnn_cosine` and `cnn_euclidean` on EfficientNet-Lite0 (pretrained, as every CNN row here) and on
  EfficientNet-B0 (pretrained where its file is found, else untrained: its speed is the
  architecture's, its scores mean nothing, and the row says `weights=random-init (timing only)`);
- each CNN with autograd on (the article: it never disabled gradients) and under torch.no_grad()
  (what disabling them would save).
A benchmark script writing a CSV (results/bench-cnn/cnn_timing.csv), never a timed test.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dupbench.files import atomic_write_text
from dupbench.methods import DupbenchError, create_method, method_class
from dupbench.methods.backbones import load_backbone, random_backbone
from dupbench.methods.tensors import load_torchvision
from experiments.config import compose_config
from experiments.data.images import ImageCache
from experiments.evaluation.protocol import article_pairs, spread_sample
from experiments.paths import REPO_ROOT
from experiments.provenance import environment, now_utc
from experiments.reporting.render import render_cnn_timing
from experiments.reporting.sections import Entry, Section
from experiments.run import dataset_with_fallback
from experiments.runners.retrieval import time_article_loop
from experiments.tables import atomic_write_csv

BACKBONES = ("efficientnet-lite0", "efficientnet-b0")
CNN_METHODS = ("cnn_cosine", "cnn_euclidean")


def cnn_method(name: str, backbone: str):
    """The registered CNN method on this backbone: pretrained when its weights are here, else untrained."""

    try:
        net = load_backbone(backbone)
    except DupbenchError:
        net = random_backbone(backbone)
    return method_class(name)(net)


def time_rows(pairs: int, rounds: int) -> list[dict[str, Any]]:
    import torch

    images = ImageCache(dataset_with_fallback(compose_config(["dataset=fruits360", "dataset_fallback=embedded"])))
    references = images.dataset.reference_indices
    sample = spread_sample(article_pairs(len(images), references), pairs)
    load_torchvision()  # outside the timed calls, as the article's imports were
    contenders = [("cosine", create_method("cosine"), True)]
    for backbone in BACKBONES:
        for name in CNN_METHODS:
            method = cnn_method(name, backbone)
            contenders += [(name, method, True), (name, method, False)]
    rows = []
    # Rounds interleave the contenders, so a slow spell of this shared machine hits them all alike.
    seconds: dict[int, list[float]] = {i: [] for i in range(len(contenders))}
    for _ in range(rounds):
        for i, (_, method, autograd) in enumerate(contenders):
            with nullcontext() if autograd else torch.no_grad():
                _, taken = time_article_loop(method, images, references, sample)
            seconds[i].append(float(np.mean(taken)))
    cosine_s = float(np.median(seconds[0]))
    for i, (name, method, autograd) in enumerate(contenders):
        facts = method.describe()
        mean_s = float(np.median(seconds[i]))
        rows.append(
            {
                "method": name,
                "backbone": facts["backbone"],
                "weights": facts["weights_sha256"] or "",
                "autograd": "on" if autograd else "off",
                "dataset": images.dataset.name,
                "resize": f"{images.target(0)[0]}x{images.target(0)[1]}",
                "pairs_timed": len(sample),
                "rounds": rounds,
                "mean_s_per_pair": mean_s,
                "ratio_to_cosine": mean_s / cosine_s,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=200, help="pairs of the protocol timed per contender")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median round is kept")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "bench-cnn")
    args = parser.parse_args()

    env = environment()
    start = time.perf_counter()
    rows = time_rows(args.pairs, args.rounds)
    stamp = {
        "machine": env["machine"],
        "torch_threads": env["threads"]["torch_num_threads"],
        "git_commit": env["git_commit"],
        "finished_at": now_utc(),
    }
    table = pd.DataFrame([{**row, **stamp} for row in rows])
    atomic_write_csv(args.out / "cnn_timing.csv", table)
    atomic_write_text(args.out / "environment.json", json.dumps(env, indent=2, default=str))
    for row in rows:
        print(
            f"bench-cnn: {row['method']:<14} {row['backbone'] or '-':<19} autograd {row['autograd']:<3} "
            f"{row['mean_s_per_pair']:.2e} s/pair  {row['ratio_to_cosine']:7.1f}x cosine"
        )
    print(f"bench-cnn: {args.out / 'cnn_timing.csv'} ({time.perf_counter() - start:.0f} s)")


ENTRY = Entry(
    key="cnn-timing",
    title="The CNN's cost against pixel cosine, autograd on and off",
    output="bench-cnn",
    section=Section(table="cnn_timing.csv", render=render_cnn_timing),
    per_dataset=False,
)


if __name__ == "__main__":
    main()
