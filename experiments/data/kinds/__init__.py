"""Data set kinds: a config's `kind` names a module of this package, whose `items(cfg, root)` gives
the data set's images and what it left out. A new kind is a new module here; nothing else changes.

- manifest: a CSV with at least `path,group` (paths relative to the data set's root);
- convention: the article's own naming, file names sort into consecutive groups of `group_size`;
- folders: a user's folder, each sub-folder one group (or a manifest, as `manifest`);
- embedded: the default set built from scikit-image's photos (experiments/data/embedded.py);
- edits: built from another set's photos by seeded edits and distractors (experiments/data/edits.py);
- generated: documents, charts and other kinds drawn by a seeded generator (experiments/data/generated.py).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dupbench.errors import DupbenchError
from experiments.data.dataset import Dataset, Item, Skip
from experiments.data.loader import dataset_root

Reader = Callable[[Mapping[str, Any], Path], tuple[tuple[Item, ...], tuple[Skip, ...]]]


def kind_names() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def kind_reader(kind: str, dataset: str) -> Reader:
    if kind not in kind_names():
        raise DupbenchError(f"data set {dataset!r}: unknown kind {kind!r} ({', '.join(kind_names())})")
    return importlib.import_module(f"{__name__}.{kind}").items


def load_dataset(cfg: Mapping[str, Any]) -> Dataset:
    """The data set a config describes, read by the module its `kind` names."""
    root = dataset_root(cfg)
    items, skipped = kind_reader(str(cfg.get("kind", "manifest")), str(cfg["name"]))(cfg, root)
    return Dataset(name=str(cfg["name"]), root=root, items=items, resize=dict(cfg["resize"]), skipped=skipped)
