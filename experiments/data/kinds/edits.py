"""kind: edits: built from its source data set's files by seeded edits and distractors
(experiments/data/edits.py), then read from what was built."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.data.dataset import Item, Skip
from experiments.data.edits import ensure_built
from experiments.data.loader import manifest_items
from experiments.paths import repo_path


def items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    origin = cfg["source"]
    source = manifest_items(origin, repo_path(origin["root"]), repo_path(origin["manifest"]))
    seed, distractors = int(cfg.get("seed", 0)), int(cfg.get("distractors", 0))
    edits = cfg.get("edits", True)  # true, false or an edit set's name ("hard")
    ensure_built(root, source, seed, distractors, edits)
    return manifest_items(cfg, root, root / "MANIFEST.csv"), ()
