"""Images of a data set, decoded once and resized on demand: reading and resizing are never timed."""

from __future__ import annotations

from PIL import Image

from dupbench.errors import DupbenchError
from experiments.data import Dataset, read_rgb_and_sha256, target_size
from experiments.data.loader import DEFAULT_MAX_PIXELS, UnreadableImage


class ImageCache:
    """Decodes every image of `dataset`; one that cannot be read is left out and recorded in
    `self.dataset.skipped`, so the run uses `self.dataset`, never the one it was given."""

    def __init__(self, dataset: Dataset, max_pixels: int | None = DEFAULT_MAX_PIXELS):
        originals, sha256s, dropped = [], [], {}
        for i, item in enumerate(dataset.items):
            try:
                image, sha256 = read_rgb_and_sha256(item.path, max_pixels, item.sha256)
            except UnreadableImage as problem:
                dropped[i] = str(problem)
                continue
            originals.append(image)
            sha256s.append(sha256)
        if not originals:
            raise DupbenchError(
                f"data set {dataset.name!r}: none of its {len(dataset.items)} images can be read "
                f"(first: {next(iter(dropped.values()))})"
            )
        self.dataset = dataset.without(dropped) if dropped else dataset
        self.originals = originals
        self._resized: dict[tuple[int, tuple[int, int]], Image.Image] = {}
        self._sha256s = sha256s

    def __len__(self) -> int:
        return len(self.originals)

    def target(self, index: int) -> tuple[int, int]:
        return target_size(self.dataset.resize, self.originals[index].size)

    def check_min_side(self, min_side: int, who: str) -> None:
        """Refuse, before any work, a run in which some image would be too small for a method."""
        small = [
            (self.dataset.items[i].key, self.target(i)) for i in range(len(self)) if min(self.target(i)) < min_side
        ]
        if small:
            key, (w, h) = small[0]
            raise DupbenchError(
                f"{len(small)} image(s) are under the {min_side} px a side that {who} needs after "
                f"resizing, first {key} at {w}x{h}; change the resize or leave them out"
            )

    def resized(self, index: int, size: tuple[int, int]) -> Image.Image:
        key = (index, size)
        if key not in self._resized:
            original = self.originals[index]
            self._resized[key] = original if original.size == size else original.resize(size)
        return self._resized[key]

    def pair(self, row: int, reference: int) -> tuple[Image.Image, Image.Image]:
        """Both images at the row image's target size, as the article's notebook resized them."""
        size = self.target(row)
        return self.resized(row, size), self.resized(reference, size)

    def file_sha256s(self) -> list[str]:
        """Each file's sha256, of the very bytes decoded (folder data sets too, not only manifests')."""
        return self._sha256s

    def all_at_common_size(self) -> list[Image.Image]:
        """Every image once, for the prepared path; sizes that differ are all taken to the first one's."""
        sizes = {self.target(i) for i in range(len(self))}
        return [self.resized(i, self.target(0) if len(sizes) > 1 else self.target(i)) for i in range(len(self))]
