"""Loading a data set: a folder of images and the group of each (same group = near-duplicates).

Kinds, chosen by the data set config's `kind`, one module each in experiments/data/kinds/
(manifest, convention, folders, embedded, edits, ...: `python -m experiments.data kinds` lists them).
The reference of a group is its first image by path, as in the article's code.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dupbench.errors import DupbenchError, UnreadableImage
from dupbench.images.read import DEFAULT_MAX_PIXELS, read_rgb, read_rgb_and_sha256
from experiments.data.dataset import DataMissingError, Dataset, Item, Skip
from experiments.paths import repo_path

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DataMissingError",
    "Dataset",
    "Item",
    "Skip",
    "UnreadableImage",
    "read_rgb",
    "read_rgb_and_sha256",
]


def how_to_get(cfg: Mapping[str, Any]) -> str:
    return str(cfg.get("how_to_get") or "").strip()


def require_root(cfg: Mapping[str, Any], root: Path) -> None:
    if not root.is_dir():
        raise DataMissingError(
            f"data set {cfg['name']!r}: no folder at {root}. {how_to_get(cfg)} "
            "Point elsewhere with data_root=... (or DUPBENCH_DATA), or dataset.root=..."
        )
    if not os.access(root, os.R_OK | os.X_OK):
        raise DupbenchError(f"data set {cfg['name']!r}: cannot read folder {root}: permission denied")


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def inside_root(root: Path, relative: str, where: str) -> Path:
    """root / relative, refused (one line naming `where`) when it is absolute or climbs out with `..`:
    a manifest names files of its data set, nothing else on the machine."""
    candidate = Path(relative)
    if not relative or candidate.is_absolute() or candidate.drive:
        raise DupbenchError(f"{where}: path {relative!r} must be relative to the data set's root")
    resolved_root = root.resolve()
    target = (resolved_root / candidate).resolve()
    if ".." in candidate.parts or not target.is_relative_to(resolved_root):
        raise DupbenchError(f"{where}: path {relative!r} leaves the data set's root {root}")
    return root / candidate


def read_manifest(path: Path, root: Path) -> list[Item]:
    if not path.is_file():
        raise DupbenchError(f"manifest {path} not found")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DupbenchError(f"cannot read manifest {path}: {exc}") from None
    if not rows or not {"path", "group"} <= set(rows[0]):
        raise DupbenchError(f"manifest {path} needs the columns path,group and at least one row")
    return [
        Item(
            key=row["path"],
            path=inside_root(root, row["path"] or "", f"manifest {path}, row {n}"),
            group=row["group"],
            sha256=row.get("sha256") or "",
            width=_int_or_none(row.get("width")),
            height=_int_or_none(row.get("height")),
            url=row.get("url") or "",
            edit=row.get("edit") or "",
        )
        for n, row in enumerate(rows, start=2)
    ]


def manifest_items(cfg: Mapping[str, Any], root: Path, manifest: Path) -> tuple[Item, ...]:
    require_root(cfg, root)
    items = read_manifest(manifest, root)
    missing = [it for it in items if not it.path.is_file()]
    if missing:
        # A data set with a manifest is a published set: a missing file is an error, never a skip.
        raise DupbenchError(
            f"data set {cfg['name']!r}: {len(missing)} of {len(items)} files missing, first {missing[0].path} "
            f"(listed in {manifest}). {how_to_get(cfg)} `python -m experiments.data fetch {cfg['name']}` "
            "gets them where a source is reachable"
        )
    return tuple(sorted(items, key=lambda it: (it.group, it.key)))


def scan_skips(root: Path, skipped: list[tuple[Path, str]]) -> tuple[Skip, ...]:
    return tuple(Skip(str(path.relative_to(root)), reason, "scan") for path, reason in skipped)


def dataset_root(cfg: Mapping[str, Any]) -> Path:
    if not cfg.get("root"):
        raise DupbenchError(f"data set {cfg['name']!r} needs a folder: pass dataset.root=/path")
    return repo_path(cfg["root"])


MIN_SIDE = 4  # the least a resized image may keep on a side (the 8x8 hashes still have a 4x4 picture)


def target_size(resize: Mapping[str, Any], size: tuple[int, int]) -> tuple[int, int]:
    """The size an image of `size` is resized to: a fixed size, or its own scaled by a factor."""
    mode = resize.get("mode")
    if mode == "fixed":
        return int(resize["width"]), int(resize["height"])
    if mode == "scale":
        factor = float(resize["factor"])
        width, height = round(size[0] * factor), round(size[1] * factor)
        if min(width, height) < MIN_SIDE:
            raise DupbenchError(
                f"dataset.resize.factor={factor:g} shrinks a {size[0]}x{size[1]} image to {width}x{height}: "
                f"under {MIN_SIDE} px a side, nothing is left to compare"
            )
        return width, height
    raise DupbenchError(f"resize mode {mode!r} unknown (fixed, scale)")
