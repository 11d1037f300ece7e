"""Loading a data set: a folder of images and the group of each (same group = near-duplicates).

Kinds, chosen by the data set config's `kind`:
- manifest: a CSV with at least `path,group` (paths relative to the data set's root);
- convention: the article's own naming, file names sort into consecutive groups of `group_size`;
- folders: a user's folder, each sub-folder one group (or give a manifest: kind=manifest);
- embedded: the default set built from scikit-image's photos (see experiments/data/embedded.py).
- edits: built from another set's photos by seeded edits and distractors (experiments/data/edits.py).
The reference of a group is its first image by path, as in the article's code.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import os
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dupbench.errors import DupbenchError
from experiments.data.scan import scan
from experiments.paths import repo_path

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb limit


class DataMissingError(DupbenchError):
    """The data set's folder is not there at all (as opposed to being there but wrong)."""


class UnreadableImage(DupbenchError):
    """One image cannot be used; a run records it in skipped.csv and goes on without it."""


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


def _how_to_get(cfg: Mapping[str, Any]) -> str:
    return str(cfg.get("how_to_get") or "").strip()


def require_root(cfg: Mapping[str, Any], root: Path) -> None:
    if not root.is_dir():
        raise DataMissingError(
            f"data set {cfg['name']!r}: no folder at {root}. {_how_to_get(cfg)} "
            "Point elsewhere with data_root=... (or DUPBENCH_DATA), or dataset.root=..."
        )
    if not os.access(root, os.R_OK | os.X_OK):
        raise DupbenchError(f"data set {cfg['name']!r}: cannot read folder {root}: permission denied")


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def inside_root(root: Path, relative: str, where: str) -> Path:
    """root / relative, refused (one line naming `where`) when it is absolute or climbs out with `..`:
    a manifest names files of its data set, nothing else on the machine."""
    candidate = Path(relative)
    if not relative or candidate.is_absolute() or candidate.drive:
        raise DupbenchError(f"{where}: path {relative!r} must be relative to the data set's root")
    resolved_root = root.resolve()
    target = (resolved_root / candidate).resolve()
    if ".." in candidate.parts or not target.is_relative_to(resolved_root):
        raise DupbenchError(f"{where}: path {relative!r} leaves the data set's root {root}")
    return root / candidate


def read_manifest(path: Path, root: Path) -> list[Item]:
    if not path.is_file():
        raise DupbenchError(f"manifest {path} not found")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DupbenchError(f"cannot read manifest {path}: {exc}") from None
    if not rows or not {"path", "group"} <= set(rows[0]):
        raise DupbenchError(f"manifest {path} needs the columns path,group and at least one row")
    return [
        Item(
            key=row["path"],
            path=inside_root(root, row["path"] or "", f"manifest {path}, row {n}"),
            group=row["group"],
            sha256=row.get("sha256") or "",
            width=_int_or_none(row.get("width")),
            height=_int_or_none(row.get("height")),
            url=row.get("url") or "",
            edit=row.get("edit") or "",
        )
        for n, row in enumerate(rows, start=2)
    ]


def manifest_items(cfg: Mapping[str, Any], root: Path, manifest: Path) -> tuple[Item, ...]:
    require_root(cfg, root)
    items = read_manifest(manifest, root)
    missing = [it for it in items if not it.path.is_file()]
    if missing:
        # A data set with a manifest is a published set: a missing file is an error, never a skip.
        raise DupbenchError(
            f"data set {cfg['name']!r}: {len(missing)} of {len(items)} files missing, first {missing[0].path} "
            f"(listed in {manifest}). {_how_to_get(cfg)} `python -m experiments.data fetch {cfg['name']}` "
            "gets them where a source is reachable"
        )
    return tuple(sorted(items, key=lambda it: (it.group, it.key)))


def scan_skips(root: Path, skipped: list[tuple[Path, str]]) -> tuple[Skip, ...]:
    return tuple(Skip(str(path.relative_to(root)), reason, "scan") for path, reason in skipped)


def convention_items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    require_root(cfg, root)
    found = scan(root)
    files = found.files  # natural order: a camera's 2.jpg comes before its 10.jpg
    size = int(cfg.get("group_size", 4))
    if not files:
        raise DupbenchError(f"data set {cfg['name']!r}: no images in {root}. {_how_to_get(cfg)}")
    if len(files) % size:
        raise DupbenchError(
            f"data set {cfg['name']!r}: {len(files)} images in {root} is not a multiple of group_size={size}"
        )
    # The article's numbering: sorted names, every group_size-th one starts a group.
    items = tuple(Item(key=p.name, path=p, group=f"g{i // size:04d}") for i, p in enumerate(files))
    return items, scan_skips(root, found.skipped)


def folder_items(cfg: Mapping[str, Any], root: Path) -> tuple[tuple[Item, ...], tuple[Skip, ...]]:
    require_root(cfg, root)
    top = scan(root, folders_wanted=True)
    skipped = [
        *top.skipped,
        *((p, "lies directly in the data set's folder, not in a group sub-folder") for p in top.files),
    ]
    items = []
    for group in top.folders:
        found = scan(group)
        items += [Item(key=f"{group.name}/{p.name}", path=p, group=group.name) for p in found.files]
        skipped += found.skipped
    if not items:
        loose = len(top.files)
        hint = f" ({loose} images lie directly in it: put each group in a sub-folder)" if loose else ""
        raise DupbenchError(f"data set {cfg['name']!r}: no images in sub-folders of {root}{hint}")
    return tuple(items), scan_skips(root, skipped)


def dataset_root(cfg: Mapping[str, Any]) -> Path:
    if not cfg.get("root"):
        raise DupbenchError(f"data set {cfg['name']!r} needs a folder: pass dataset.root=/path")
    return repo_path(cfg["root"])


def load_dataset(cfg: Mapping[str, Any]) -> Dataset:
    root = dataset_root(cfg)
    kind = cfg.get("kind", "manifest")
    skipped: tuple[Skip, ...] = ()
    if kind == "manifest":
        items = manifest_items(cfg, root, repo_path(cfg["manifest"]))
    elif kind == "convention":
        items, skipped = convention_items(cfg, root)
    elif kind == "folders" and cfg.get("manifest"):
        items = manifest_items(cfg, root, repo_path(cfg["manifest"]))
    elif kind == "folders":
        items, skipped = folder_items(cfg, root)
    elif kind == "embedded":  # its items come from the manifest it was built with
        from experiments.data.embedded import ensure_embedded

        ensure_embedded(root, seed=int(cfg.get("seed", 0)))
        items = manifest_items(cfg, root, root / "MANIFEST.csv")
    elif kind == "edits":  # built from its source data set's files, then read from what was built
        from experiments.data.edits import ensure_built

        origin = cfg["source"]
        source = manifest_items(origin, repo_path(origin["root"]), repo_path(origin["manifest"]))
        ensure_built(
            root, source, int(cfg.get("seed", 0)), int(cfg.get("distractors", 0)), bool(cfg.get("edits", True))
        )
        items = manifest_items(cfg, root, root / "MANIFEST.csv")
    else:
        raise DupbenchError(
            f"data set {cfg['name']!r}: unknown kind {kind!r} (manifest, convention, folders, embedded, edits)"
        )
    return Dataset(name=str(cfg["name"]), root=root, items=items, resize=dict(cfg["resize"]), skipped=skipped)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB without silently changing what the image shows: alpha onto white, 16-bit scaled to 8."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        image = Image.fromarray(np.clip(np.rint(pixels * (255.0 / top)), 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        raise UnreadableImage("floating-point pixels (mode F) have no fixed range to map to 8 bits")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def read_rgb(path: Path, max_pixels: int | None = DEFAULT_MAX_PIXELS, sha256: str = "") -> Image.Image:
    """Decode fully, apply the EXIF orientation, convert to RGB; a file that cannot be used raises
    UnreadableImage naming it (a run records it as a skip). With `sha256`, bytes that differ from it
    are an error: a published data set is used exactly or not at all."""
    return read_rgb_and_sha256(path, max_pixels, sha256)[0]


def read_rgb_and_sha256(
    path: Path, max_pixels: int | None = DEFAULT_MAX_PIXELS, sha256: str = ""
) -> tuple[Image.Image, str]:
    """read_rgb, and the sha256 of the bytes it decoded (what a result's fingerprint is made of)."""
    try:
        data = path.read_bytes()
        if not data:
            raise UnreadableImage("empty file (0 bytes)")
        actual = hashlib.sha256(data).hexdigest()
        if sha256 and actual != sha256:
            raise DupbenchError(
                f"{path} differs from its manifest (sha256); "
                "`python -m experiments.data check DATASET` lists every such file"
            )
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; here anything over the limit is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
            try:
                with Image.open(io.BytesIO(data)) as image:
                    image.load()
                    return _to_rgb(ImageOps.exif_transpose(image)), actual
            finally:
                Image.MAX_IMAGE_PIXELS = previous
    except UnreadableImage as exc:
        raise UnreadableImage(f"cannot read image {path}: {exc}") from None
    except DupbenchError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableImage(
            f"cannot read image {path}: over the decompression-bomb limit of {max_pixels} "
            f"pixels ({exc}); raise max_image_pixels=... if the image is trusted"
        ) from None
    except UnidentifiedImageError:
        # Pillow's own message names the in-memory buffer (<_io.BytesIO object at 0x...>), not the file.
        raise UnreadableImage(f"cannot read image {path}: not an image format Pillow recognises") from None
    except PermissionError:
        raise UnreadableImage(f"cannot read image {path}: permission denied") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UnreadableImage(f"cannot read image {path}: {type(exc).__name__}: {exc}") from None


def target_size(resize: Mapping[str, Any], size: tuple[int, int]) -> tuple[int, int]:
    """The size an image of `size` is resized to: a fixed size, or its own scaled by a factor."""
    mode = resize.get("mode")
    if mode == "fixed":
        return int(resize["width"]), int(resize["height"])
    if mode == "scale":
        factor = float(resize["factor"])
        return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))
    raise DupbenchError(f"resize mode {mode!r} unknown (fixed, scale)")
