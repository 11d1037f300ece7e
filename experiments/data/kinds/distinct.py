"""kind: distinct: one image of each group of a source data set (its first by path, the original of a
built set), so that nothing is anyone's duplicate: the only right answer is no group at all.
`groups_matching` (a regular expression) keeps only the groups whose name matches it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.data.dataset import Item, Skip
from experiments.data.kinds import kind_reader
from experiments.data.loader import dataset_root


def items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    source = cfg["source"]
    found, skipped = kind_reader(str(source.get("kind", "manifest")), str(source["name"]))(source, dataset_root(source))
    first: dict[str, Item] = {}
    pattern = re.compile(str(cfg.get("groups_matching") or ""))
    for item in found:
        if not pattern.search(item.group):
            continue
        if item.edit == "original" or item.group not in first:
            if first.get(item.group) is None or first[item.group].edit != "original":
                first[item.group] = item
    return tuple(first.values()), skipped
