"""What every runner does the same way: the pre-flight (everything that can stop a run, done before
any work: build the methods, read every image with unreadable ones recorded as skips, check each
method's minimum size), the skipped-files record, and how rows are ordered and labelled."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dupbench.methods import Method, create_method, method_class, method_names
from experiments.data import Dataset
from experiments.data.images import ImageCache
from experiments.tables import atomic_write_csv

log = logging.getLogger("dupbench.run")


SUITES = ("article", "field")


def method_names_of(cfg: Mapping[str, Any]) -> list[str]:
    """The configured names; `all` stands for every registered method and `article` / `field` for
    those of that suite (a method's declared `suite`), in the registry's order."""
    names: list[str] = []
    for name in cfg["method"]["names"]:
        if name == "all":
            names += method_names()
        elif name in SUITES:
            names += [n for n in method_names() if method_class(n).suite == name]
        else:
            names.append(name)
    return list(dict.fromkeys(names))


def preflight(cfg: Mapping[str, Any], dataset: Dataset, load: bool = True) -> tuple[list[Method], ImageCache]:
    """The run's methods and images; use `images.dataset` from here on (it lists the skips). With
    load=False the caller loads each method it computes (method.load())."""
    options = {"backbone": cfg["backbone"], "weights_path": cfg["weights_path"]}
    methods = [create_method(name, options, load=load) for name in method_names_of(cfg)]
    images = ImageCache(dataset, cfg.get("max_image_pixels"))
    for method in methods:
        images.check_min_side(method.min_side, method.name)
    return methods, images


def resize_label(resize: Mapping[str, Any]) -> str:
    if resize.get("mode") == "fixed":
        return f"fixed {resize['width']}x{resize['height']}"
    return f"scale {resize.get('factor')}"


def method_order(frame: pd.DataFrame) -> pd.DataFrame:
    rank = {name: i for i, name in enumerate(method_names())}
    return frame.sort_values("method", key=lambda s: s.map(lambda m: rank.get(m, len(rank))), kind="stable")


SKIPS_NAMED = 10  # skips of one reason named one per line in the log; more are counted


def write_skipped(dataset: Dataset, out_dir: Path) -> None:
    skips = dataset.all_skips()
    rows = [{"dataset": dataset.name, "path": s.key, "stage": s.stage, "reason": s.reason} for s in skips]
    atomic_write_csv(out_dir / "skipped.csv", pd.DataFrame(rows, columns=["dataset", "path", "stage", "reason"]))
    # One line per file up to a few, then one per reason: 7,200 distractors (each alone in its group)
    # were 7,200 lines before the first result; every skip is in skipped.csv.
    by_reason: dict[tuple[str, str], list[str]] = {}
    for skip in skips:
        by_reason.setdefault((skip.stage, skip.reason), []).append(skip.key)
    for (stage, reason), keys in by_reason.items():
        if len(keys) <= SKIPS_NAMED:
            for key in keys:
                log.warning("skipped %s (%s): %s", key, stage, reason)
        else:
            log.warning(
                "skipped %d files (%s): %s; e.g. %s (all in %s)",
                len(keys),
                stage,
                reason,
                ", ".join(keys[:3]),
                out_dir / "skipped.csv",
            )
