"""Images of a data set, decoded once and resized on demand: reading and resizing are never timed."""
from __future__ import annotations

from PIL import Image

from .data import Dataset, read_rgb, target_size


class ImageCache:
    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.originals = [read_rgb(item.path) for item in dataset.items]
        self._resized: dict[tuple[int, tuple[int, int]], Image.Image] = {}

    def __len__(self) -> int:
        return len(self.originals)

    def resized(self, index: int, size: tuple[int, int]) -> Image.Image:
        key = (index, size)
        if key not in self._resized:
            original = self.originals[index]
            self._resized[key] = original if original.size == size else original.resize(size)
        return self._resized[key]

    def pair(self, row: int, reference: int) -> tuple[Image.Image, Image.Image]:
        """Both images at the row image's target size, as the article's notebook resized them."""
        size = target_size(self.dataset.resize, self.originals[row].size)
        return self.resized(row, size), self.resized(reference, size)

    def all_at_common_size(self) -> list[Image.Image]:
        """Every image once, for the prepared path; sizes that differ are all taken to the first one's."""
        sizes = {target_size(self.dataset.resize, image.size) for image in self.originals}
        first = target_size(self.dataset.resize, self.originals[0].size)
        return [self.resized(i, first if len(sizes) > 1 else target_size(self.dataset.resize, image.size))
                for i, image in enumerate(self.originals)]
