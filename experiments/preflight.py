"""Everything that can stop a run, done before any work: build the methods (a missing weights file),
read every image (unreadable ones are recorded as skips) and check each method's minimum size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from methods import Method, create_method

from .data import Dataset
from .images import ImageCache


def prepare(cfg: Mapping[str, Any], dataset: Dataset) -> tuple[list[Method], ImageCache]:
    """The run's methods and images; use `images.dataset` from here on (it lists the skips)."""
    options = {"backbone": cfg["backbone"], "weights_path": cfg["weights_path"]}
    methods = [create_method(name, options) for name in cfg["method"]["names"]]
    images = ImageCache(dataset, cfg.get("max_image_pixels"))
    for method in methods:
        images.check_min_side(method.min_side, method.name)
    return methods, images
