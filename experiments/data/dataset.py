"""What a data set is: its images (path, group, and what the manifest says of each), its resize, and
the files left out with the reason."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dupbench.errors import DupbenchError


class DataMissingError(DupbenchError):
    """The data set's folder is not there at all (as opposed to being there but wrong)."""


@dataclass(frozen=True)
class Item:
    key: str  # the path relative to the data set root: how results name an image
    path: Path
    group: str
    sha256: str = ""
    width: int | None = None
    height: int | None = None
    url: str = ""  # where the manifest says the file can be downloaded
    edit: str = ""  # for a built set (experiments/data/edits.py): which edit made it, "original", "view"


@dataclass(frozen=True)
class Skip:
    key: str
    reason: str
    stage: str  # "scan": met by a folder scan, not an image it can use; "read": could not be decoded;
    # "query": kept as a distractor but not a query


@dataclass(frozen=True)
class Dataset:
    name: str
    root: Path
    items: tuple[Item, ...]
    resize: Mapping[str, Any]
    skipped: tuple[Skip, ...] = ()

    @property
    def groups(self) -> list[str]:
        return [item.group for item in self.items]

    @property
    def reference_indices(self) -> list[int]:
        """The first image of each group that has near-duplicates, in the data set's order."""
        sizes = Counter(self.groups)
        seen: set[str] = set()
        refs = []
        for i, item in enumerate(self.items):
            if item.group not in seen:
                seen.add(item.group)
                if sizes[item.group] > 1:
                    refs.append(i)
        return refs

    def all_skips(self) -> list[Skip]:
        """Files left out, and images of a one-image group (no near-duplicate: gallery only, not a query)."""
        sizes = Counter(self.groups)
        singles = [
            Skip(it.key, "the only image of its group: kept as a distractor, not a query", "query")
            for it in self.items
            if sizes[it.group] == 1
        ]
        return [*self.skipped, *singles]

    def without(self, dropped: dict[int, str]) -> Dataset:
        """The same data set less the items at the given indices, each recorded with its reason."""
        keep = tuple(item for i, item in enumerate(self.items) if i not in dropped)
        skips = tuple(Skip(self.items[i].key, reason, "read") for i, reason in sorted(dropped.items()))
        return dataclasses.replace(self, items=keep, skipped=self.skipped + skips)
