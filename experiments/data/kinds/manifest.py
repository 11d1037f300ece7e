"""kind: manifest: a published set, every file named in a CSV (path, group, sha256, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.data.dataset import Item, Skip
from experiments.data.loader import manifest_items
from experiments.paths import repo_path


def items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    return manifest_items(cfg, root, repo_path(cfg["manifest"])), ()
