"""Data sets: a folder of images and the group of each (same group = near-duplicates).

Three kinds, chosen by the data set config's `kind`:
- manifest: a CSV with at least `path,group` (paths relative to the data set's root);
- convention: the article's own naming, file names sort into consecutive groups of `group_size`;
- embedded: the default set built from scikit-image's photos (see experiments/embedded.py).
In every kind the reference of a group is its first image by path, as in the article's code.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from PIL import Image, ImageOps, UnidentifiedImageError

from methods.errors import DupbenchError

from .paths import repo_path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class Item:
    key: str  # the path relative to the data set root: how results name an image
    path: Path
    group: str


@dataclass(frozen=True)
class Dataset:
    name: str
    root: Path
    items: tuple[Item, ...]
    resize: Mapping[str, Any]

    @property
    def reference_indices(self) -> list[int]:
        """The first image of each group, in the data set's order."""
        seen: set[str] = set()
        refs = []
        for i, item in enumerate(self.items):
            if item.group not in seen:
                seen.add(item.group)
                refs.append(i)
        return refs

    @property
    def groups(self) -> list[str]:
        return [item.group for item in self.items]


def _how_to_get(cfg: Mapping[str, Any]) -> str:
    return str(cfg.get("how_to_get") or "").strip()


def _missing_root(cfg: Mapping[str, Any], root: Path) -> DupbenchError:
    return DupbenchError(
        f"data set {cfg['name']!r}: no folder at {root}. {_how_to_get(cfg)} "
        "Point elsewhere with data_root=... (or DUPBENCH_DATA), or dataset.root=..."
    )


def _sorted_items(items: list[Item]) -> tuple[Item, ...]:
    return tuple(sorted(items, key=lambda it: (it.group, it.key)))


def load_manifest_items(cfg: Mapping[str, Any], root: Path) -> tuple[Item, ...]:
    manifest = repo_path(cfg["manifest"])
    if not manifest.is_file():
        raise DupbenchError(f"data set {cfg['name']!r}: manifest {manifest} not found")
    if not root.is_dir():
        raise _missing_root(cfg, root)
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"path", "group"} <= set(rows[0]):
        raise DupbenchError(f"manifest {manifest} needs the columns path,group and at least one row")
    items = [Item(key=row["path"], path=root / row["path"], group=row["group"]) for row in rows]
    missing = [it for it in items if not it.path.is_file()]
    if missing:
        raise DupbenchError(
            f"data set {cfg['name']!r}: {len(missing)} of {len(items)} files missing, first {missing[0].path} "
            f"(listed in {manifest}). {_how_to_get(cfg)}"
        )
    return _sorted_items(items)


def load_convention_items(cfg: Mapping[str, Any], root: Path) -> tuple[Item, ...]:
    if not root.is_dir():
        raise _missing_root(cfg, root)
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    size = int(cfg.get("group_size", 4))
    if not files:
        raise DupbenchError(f"data set {cfg['name']!r}: no images in {root}. {_how_to_get(cfg)}")
    if len(files) % size:
        raise DupbenchError(
            f"data set {cfg['name']!r}: {len(files)} images in {root} is not a multiple of group_size={size}"
        )
    # The article's numbering: sorted names, every group_size-th one starts a group.
    return tuple(
        Item(key=p.name, path=p, group=f"g{i // size:04d}") for i, p in enumerate(files)
    )


def load_dataset(cfg: Mapping[str, Any]) -> Dataset:
    root = repo_path(cfg["root"])
    kind = cfg.get("kind", "manifest")
    if kind == "manifest":
        items = load_manifest_items(cfg, root)
    elif kind == "convention":
        items = load_convention_items(cfg, root)
    elif kind == "embedded":
        from .embedded import ensure_embedded

        ensure_embedded(root, seed=int(cfg.get("seed", 0)))
        items = load_manifest_items({**cfg, "manifest": root / "MANIFEST.csv"}, root)
    else:
        raise DupbenchError(f"data set {cfg['name']!r}: unknown kind {kind!r} (manifest, convention, embedded)")
    return Dataset(name=str(cfg["name"]), root=root, items=items, resize=dict(cfg["resize"]))


def read_rgb(path: Path) -> Image.Image:
    """Decode fully, apply the EXIF orientation, convert to RGB; a bad file is one clear error."""
    try:
        with Image.open(path) as image:
            image.load()
            return ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DupbenchError(f"cannot read image {path}: {type(exc).__name__}: {exc}") from None


def target_size(resize: Mapping[str, Any], size: tuple[int, int]) -> tuple[int, int]:
    """The size an image of `size` is resized to: a fixed size, or its own scaled by a factor."""
    mode = resize.get("mode")
    if mode == "fixed":
        return int(resize["width"]), int(resize["height"])
    if mode == "scale":
        factor = float(resize["factor"])
        return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))
    raise DupbenchError(f"resize mode {mode!r} unknown (fixed, scale)")
