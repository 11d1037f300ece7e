"""CNN features: EfficientNet's last convolutional feature map, compared by Euclidean or cosine.

As the article: ToTensor (no ImageNet normalisation), `model.extract_features` on one image at a
time, scores rounded to 4 decimals. Gradients are off (they do not change the features).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

from .backbones import Backbone, load_backbone
from .base import Method
from .errors import DupbenchError
from .registry import register

_to_tensor = transforms.ToTensor()
_cosine = torch.nn.CosineSimilarity(dim=0)


class _CnnFeatures(Method):
    family = "cnn"
    min_side = 32  # EfficientNet downsamples by 32; a smaller input has no spatial extent left

    def __init__(self, backbone: Backbone):
        self.backbone = backbone

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "_CnnFeatures":
        return cls(load_backbone(str(options.get("backbone") or "auto"), options.get("weights_path") or None))

    def prepare(self, image: Image.Image) -> torch.Tensor:
        if min(image.size) < self.min_side:
            raise DupbenchError(f"image of {image.size[0]}x{image.size[1]} is too small for the CNN "
                                f"(needs >= {self.min_side} px a side)")
        with torch.no_grad():
            return self.backbone.model.extract_features(_to_tensor(image).unsqueeze(0))

    def describe(self) -> dict[str, Any]:
        return {"backbone": self.backbone.name, "weights_sha256": self.backbone.weights_sha256}


@register("cnn_euclidean")
class CnnEuclidean(_CnnFeatures):
    direction = "distance"
    summary = "EfficientNet extract_features, np.linalg.norm(f1 - f2) rounded to 4 decimals (article)"

    def score(self, a: torch.Tensor, b: torch.Tensor) -> float:
        return round(float(np.linalg.norm((a - b).numpy())), 4)


@register("cnn_cosine")
class CnnCosine(_CnnFeatures):
    direction = "similarity"
    summary = "EfficientNet extract_features, CosineSimilarity of flattened features, 4 decimals (article)"

    def score(self, a: torch.Tensor, b: torch.Tensor) -> float:
        return round(float(_cosine(a.flatten(), b.flatten())), 4)
