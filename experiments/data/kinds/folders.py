"""kind: folders: a person's folder, each sub-folder one group (or a manifest, when the config names one)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dupbench.errors import DupbenchError
from dupbench.images.scan import scan
from experiments.data.dataset import Item, Skip
from experiments.data.loader import manifest_items, require_root, scan_skips
from experiments.paths import repo_path


def items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    if cfg.get("manifest"):
        return manifest_items(cfg, root, repo_path(cfg["manifest"])), ()
    require_root(cfg, root)
    top = scan(root, folders_wanted=True)
    skipped = [
        *top.skipped,
        *((p, "lies directly in the data set's folder, not in a group sub-folder") for p in top.files),
    ]
    found_items = []
    for group in top.folders:
        found = scan(group)
        found_items += [Item(key=f"{group.name}/{p.name}", path=p, group=group.name) for p in found.files]
        skipped += found.skipped
    if not found_items:
        loose = len(top.files)
        hint = f" ({loose} images lie directly in it: put each group in a sub-folder)" if loose else ""
        raise DupbenchError(f"data set {cfg['name']!r}: no images in sub-folders of {root}{hint}")
    return tuple(found_items), scan_skips(root, skipped)
