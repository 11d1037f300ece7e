"""kind: convention: the article's own naming, file names sort into consecutive groups of `group_size`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dupbench.errors import DupbenchError
from dupbench.images.scan import scan
from experiments.data.dataset import Item, Skip
from experiments.data.loader import how_to_get, require_root, scan_skips


def items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    require_root(cfg, root)
    found = scan(root)
    files = found.files  # natural order: a camera's 2.jpg comes before its 10.jpg
    size = int(cfg.get("group_size", 4))
    if not files:
        raise DupbenchError(f"data set {cfg['name']!r}: no images in {root}. {how_to_get(cfg)}")
    if len(files) % size:
        raise DupbenchError(
            f"data set {cfg['name']!r}: {len(files)} images in {root} is not a multiple of group_size={size}"
        )
    # The article's numbering: sorted names, every group_size-th one starts a group.
    listed = tuple(Item(key=p.name, path=p, group=f"g{i // size:04d}") for i, p in enumerate(files))
    return listed, scan_skips(root, found.skipped)
