"""Verify a data set's files: present, sha256 as in the manifest, decodable, of the listed size."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from dupbench.errors import DupbenchError
from dupbench.files import sha256_of
from experiments.data.kinds import load_dataset
from experiments.data.loader import Item, UnreadableImage, dataset_root, read_manifest, read_rgb, require_root
from experiments.paths import repo_path


@dataclass(frozen=True)
class Problem:
    path: Path
    what: str


def listed_items(cfg: Mapping[str, Any]) -> tuple[Path, list[Item]]:
    """The files a data set should have: its manifest's rows, or what its loader finds."""
    if not cfg.get("manifest"):
        dataset = load_dataset(cfg)
        return dataset.root, list(dataset.items)
    if cfg.get("kind") == "embedded":
        load_dataset(cfg)  # built on first use; then checked against the committed manifest
    root = dataset_root(cfg)
    require_root(cfg, root)
    return root, read_manifest(repo_path(cfg["manifest"]), root)


def check_item(item: Item) -> list[Problem]:
    if not item.path.is_file():
        return [Problem(item.path, "missing")]
    problems = []
    if item.sha256:
        actual = sha256_of(item.path)
        if actual != item.sha256:
            problems.append(Problem(item.path, f"sha256 {actual} where the manifest says {item.sha256}"))
    try:
        read_rgb(item.path)
    except UnreadableImage as exc:
        return problems + [Problem(item.path, f"does not decode: {exc}")]
    if item.width is not None and item.height is not None:
        with Image.open(item.path) as image:  # the stored size, before any EXIF rotation
            if image.size != (item.width, item.height):
                problems.append(
                    Problem(
                        item.path,
                        f"size {image.size[0]}x{image.size[1]} where the manifest says {item.width}x{item.height}",
                    )
                )
    return problems


# A data set folder's own documentation, not data: never reported as unlisted.
OWN_FILES = {"MANIFEST.csv", "README.md", "README.txt"}


def unlisted_files(root: Path, items: list[Item]) -> list[Path]:
    """Files under the root that the manifest does not name (a stray copy, a leftover .part file)."""
    listed = {item.path.resolve() for item in items}
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.resolve() not in listed and path.relative_to(root).as_posix() not in OWN_FILES:
            found.append(path)
    return found


def check(cfg: Mapping[str, Any]) -> tuple[str, list[Problem]]:
    """A one-line summary and every problem found; no problem means the set is the published one."""
    root, items = listed_items(cfg)
    if not items:
        raise DupbenchError(f"data set {cfg['name']!r}: nothing to check in {root}")
    problems = [p for item in items for p in check_item(item)]
    bad = len({p.path for p in problems})
    verified = "sha256, decode and size" if any(it.sha256 for it in items) else "decode only (no sha256 listed)"
    summary = f"{cfg['name']}: {len(items)} files in {root}: {len(items) - bad} ok, {bad} with problems [{verified}]"
    return summary, problems
