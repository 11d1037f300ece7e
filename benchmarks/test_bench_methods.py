"""Micro-benchmarks of every method's prepare and score at 100x100 (the Fruits-360 size).

`make bench` runs them (never `make test`) and saves JSON under results/bench/, so two commits can
be compared: `.venv/bin/pytest-benchmark --storage file://results/bench compare`.
"""

from __future__ import annotations

import pytest
import skimage.data
from PIL import Image

from dupbench.methods import create_method, method_names

SIZE = (100, 100)


@pytest.fixture(scope="module")
def pair() -> tuple[Image.Image, Image.Image]:
    a = Image.fromarray(skimage.data.astronaut()).convert("RGB").resize(SIZE)
    return a, a.rotate(3, resample=Image.Resampling.BICUBIC)


@pytest.mark.parametrize("name", method_names())
def test_prepare(benchmark, name, pair):
    method = create_method(name, {"backbone": "efficientnet-lite0"})
    benchmark.group = "prepare one 100x100 image"
    benchmark.extra_info.update({"direction": method.direction, "variant": method.variant, **method.describe()})
    benchmark(method.prepare, pair[0])


@pytest.mark.parametrize("name", method_names())
def test_score(benchmark, name, pair):
    method = create_method(name, {"backbone": "efficientnet-lite0"})
    a, b = method.prepare(pair[0]), method.prepare(pair[1])
    benchmark.group = "score one prepared pair"
    benchmark.extra_info.update({"direction": method.direction, "variant": method.variant, **method.describe()})
    benchmark(method.score, a, b)
