"""The CNN methods use the real ImageNet-pretrained weights, loaded strictly and offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import skimage.data
import torch
from PIL import Image
from torchvision import transforms

from dupbench.methods import DupbenchError, backbones, create_method
from dupbench.methods.backbones import (
    B0,
    B0_FILE,
    LITE0,
    build_lite0,
    lite0_default_path,
    load_backbone,
    resolve_weights,
    torch_hub_dir,
)

LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"  # ../shared/models/README.md
IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(autouse=True)
def empty_torch_hub(tmp_path, monkeypatch):
    """No B0 file in the hub cache unless a test puts one there, so `auto` resolves predictably."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # torch.hub.get_dir() is $TORCH_HOME/hub


def test_the_hub_folder_is_torchs_own():
    assert torch_hub_dir() == Path(torch.hub.get_dir())


def test_lite0_weights_load_strictly_with_every_key_matched():
    state = torch.load(lite0_default_path(), map_location="cpu", weights_only=True)
    model = build_lite0()
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert set(state) == set(model.state_dict())
    # B0's own class has squeeze-excite blocks: the same file must not fit it.
    with pytest.raises(RuntimeError, match="Missing key"):
        backbones.build_b0().load_state_dict(state, strict=True)


def test_pretrained_lite0_classifies_chelsea_as_a_cat():
    model = load_backbone(LITE0).model
    preprocess = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )
    with torch.no_grad():
        logits = model(preprocess(Image.fromarray(skimage.data.chelsea())).unsqueeze(0))
    assert int(logits.argmax()) in IMAGENET_CATS
    coffee = preprocess(Image.fromarray(skimage.data.coffee())).unsqueeze(0)
    with torch.no_grad():
        assert int(model(coffee).argmax()) not in IMAGENET_CATS


def test_features_have_the_b0_shape_and_the_articles_autograd(astronaut):
    method = create_method("cnn_cosine", {"backbone": LITE0})
    features = method.prepare(astronaut.resize((224, 224)))
    assert tuple(features.shape) == (1, 1280, 7, 7)
    assert features.requires_grad  # the article's forward pass, autograd on
    assert method.prepare_many([astronaut.resize((224, 224))]).shape == (1, 1280 * 7 * 7)


@pytest.mark.parametrize("name", ["cnn_euclidean", "cnn_cosine"])
def test_features_separate_a_near_duplicate_from_an_unrelated_photo(name, astronaut, astronaut_nudged, coffee):
    method = create_method(name, {"backbone": "auto"})
    ref = method.prepare(astronaut)
    near, far = method.score(ref, method.prepare(astronaut_nudged)), method.score(ref, method.prepare(coffee))
    assert (near < far) if method.direction == "distance" else (near > far)
    assert method.score(ref, ref) == (0.0 if method.direction == "distance" else 1.0)
    assert round(near, 4) == near  # the article rounds to 4 decimals


def test_every_cnn_row_names_its_backbone_and_weights():
    described = create_method("cnn_euclidean", {}).describe()
    assert described == {"backbone": LITE0, "weights_sha256": LITE0_SHA256}


def test_too_small_an_image_is_a_clear_error():
    with pytest.raises(DupbenchError, match="8x8 is too small"):
        create_method("cnn_cosine", {}).prepare(Image.new("RGB", (8, 8)))


def test_missing_b0_weights_is_one_line_naming_every_place_looked(tmp_path):
    with pytest.raises(DupbenchError) as info:
        resolve_weights(B0, str(tmp_path / "mine.pth"))
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "mine.pth") in message and B0_FILE in message


def test_auto_takes_b0_where_its_file_is_in_the_hub_cache(tmp_path):
    assert resolve_weights("auto", None)[0] == LITE0
    cached = tmp_path / "hub" / "checkpoints" / B0_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"placeholder")
    assert resolve_weights("auto", None) == (B0, cached)
    assert resolve_weights(B0, None) == (B0, cached)


def test_a_corrupt_weights_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DupbenchError, match=f"cannot load {B0} weights from {bad}"):
        _ = load_backbone(B0, str(bad)).model  # loaded on first use


def test_unknown_backbone_lists_the_valid_ones():
    with pytest.raises(DupbenchError, match="efficientnet-lite0, efficientnet-b0"):
        resolve_weights("resnet50", None)
