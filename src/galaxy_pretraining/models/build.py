"""Networks of the architecture registry (registry.py), built with torch.

A fresh head for the study's classes, pretrained weights loaded from a verified file (weights.py), and where a
network's head and Grad-CAM layer are.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
import torchvision
from torch import nn

from .registry import FROM_TIMM_MODEL, architecture_spec, timm_model_name
from .weights import STATE_DICT_KEYS, WeightsError, load_state, verify_weights


def module_at(model: nn.Module, path: str) -> nn.Module:
    """The submodule at a dotted path of the registry ("classifier.6", "features.norm5")."""
    try:
        return model.get_submodule(path)
    except AttributeError as error:
        raise KeyError(f"{type(model).__name__} has no module {path!r}: {error}") from None


def _replace_linear(model: nn.Module, path: str, n_classes: int) -> None:
    """Put a fresh n_classes Linear layer at the dotted attribute path of the old one ("classifier.6")."""
    *parents, last = path.split(".")
    owner = module_at(model, ".".join(parents)) if parents else model
    old = module_at(model, path)
    new = nn.Linear(old.in_features, n_classes)
    if last.isdigit():
        owner[int(last)] = new
    else:
        setattr(owner, last, new)


def _efficientnet_lite(name: str) -> nn.Module:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise WeightsError(f"{name} needs the PyPI package efficientnet-lite-pytorch") from error
    return EfficientNet.from_name(name.replace("_", "-"), num_classes=1000)


def _timm(name: str) -> nn.Module:
    """A timm model without its classifier (num_classes=0): what Zoobot's encoder files hold."""
    import timm

    model = timm_model_name(name)
    if not timm.is_model(model):
        raise KeyError(f"timm has no model {model!r} (architecture {name}); see timm.list_models()")
    return timm.create_model(model, pretrained=False, num_classes=0)


def _galaxy_network(name: str) -> nn.Module:
    from .galaxy_networks import build_network

    return build_network(name)


BUILDERS: dict[str, Callable[[str], nn.Module]] = {
    "torchvision": lambda name: torchvision.models.get_model(name, weights=None,
                                                             **dict(architecture_spec(name).options)),
    "efficientnet_lite_pytorch": _efficientnet_lite,
    "timm": _timm,
    "galaxy_pretraining": _galaxy_network,
}


def _resize_up_to(side: int):
    """A forward pre-hook that resizes (bilinear) an input smaller than side x side up to it."""
    def hook(module: nn.Module, inputs: tuple) -> tuple | None:
        images = inputs[0]
        if min(images.shape[-2:]) >= side:
            return None
        resized = torch.nn.functional.interpolate(images, size=(side, side), mode="bilinear", align_corners=False)
        return (resized, *inputs[1:])

    return hook


def head_path(model: nn.Module, architecture_name: str) -> str:
    """Dotted path of the network's classifier: the registry's, or a timm model's own (pretrained_cfg)."""
    head = architecture_spec(architecture_name).head
    return model.pretrained_cfg["classifier"] if head == FROM_TIMM_MODEL else head


def gradcam_layer_path(model: nn.Module, architecture_name: str) -> str | None:
    """Dotted path of the module Grad-CAM explains: the registry's, or a timm model's last feature map."""
    layer = architecture_spec(architecture_name).gradcam_layer
    return model.feature_info[-1]["module"] if layer == FROM_TIMM_MODEL else layer


def build_model(architecture_name: str, n_classes: int | None, weights_path: os.PathLike | None = None,
                dropout: float | None = None) -> nn.Module:
    """An architecture with a fresh n_classes output layer, from ImageNet weights or default init.

    `dropout` (models.<name>.dropout): the network's dropout probability, for an architecture whose registry
    entry has dropout_option (wide_preact_resnet26); None: the network without dropout. A dropout for another
    architecture is a ValueError.

    n_classes None keeps the 1,000-class ImageNet head (to check the weights).
    A timm architecture is built without its classifier; its file's
    classifier (timm's ImageNet files have one, Zoobot's encoders none) is not
    loaded, and n_classes None leaves the encoder's features as the output.

    A weights file is verified before it loads (weights.verify_weights): one that is missing, corrupt or does not
    fit the architecture is a WeightsError, as is a weights_path for an architecture without pretrained weights.
    """
    spec = architecture_spec(architecture_name)
    if dropout is not None and not spec.dropout_option:
        raise ValueError(f"{architecture_name} has no dropout option (models.<name>.dropout)")
    if dropout is not None:
        from .galaxy_networks import build_network

        model = build_network(architecture_name, dropout)
    else:
        model = BUILDERS[spec.source](architecture_name)
    if spec.min_input is not None:
        model.register_forward_pre_hook(_resize_up_to(spec.min_input))
    if weights_path is not None and not spec.has_weights:
        raise WeightsError(f"{architecture_name} has no pretrained weights; train it with weights: none")
    if weights_path is not None:
        verify_weights(weights_path, spec)
        state = load_state(weights_path)
        if spec.source == "timm":
            head = head_path(model, architecture_name) + "."
            state = {key: value for key, value in state.items() if not key.startswith(head)}
        try:
            model.load_state_dict(STATE_DICT_KEYS[spec.state_dict_keys](state))
        except RuntimeError as error:
            raise WeightsError(f"{weights_path} does not fit {architecture_name}: {error}") from None
    if n_classes is not None:
        if spec.source == "timm":
            model.reset_classifier(n_classes)
        else:
            _replace_linear(model, spec.head, n_classes)
    return model
