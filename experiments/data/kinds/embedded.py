"""kind: embedded: the default set, built from scikit-image's photos on first use, then read from the
manifest it was built with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.data.dataset import Item, Skip
from experiments.data.embedded import ensure_embedded
from experiments.data.loader import manifest_items


def items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    ensure_embedded(root, seed=int(cfg.get("seed", 0)))
    return manifest_items(cfg, root, root / "MANIFEST.csv"), ()
