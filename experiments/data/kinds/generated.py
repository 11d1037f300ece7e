"""kind: generated: documents, charts (experiments/data/generated.py), drawn by a seeded generator on
first use, then read from the manifest it was built with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.data.dataset import Item, Skip
from experiments.data.generated import ensure_built
from experiments.data.loader import manifest_items


def items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    ensure_built(root, str(cfg["generator"]), int(cfg.get("seed", 0)), int(cfg["distinct"]), int(cfg["with_copies"]))
    return manifest_items(cfg, root, root / "MANIFEST.csv"), ()
