"""Networks of the architecture registry (registry.py), built with torch, and their weights files.

A model in the config is an architecture plus a weights source (`imagenet`,
`zoobot` or `none`). Pretrained weights live as files under resources/weights/,
fetched there once by a local rule (`fetch_weights`, `fetch_hub_weights`) and
checked before every use against the hash in their file name (torchvision's
files) or the sha256 the hub stated, kept beside the file (<file>.sha256), so
training jobs never touch the network.
Weights that cannot be found are an error that says where they were looked
for: a pretrained arm never silently starts from random weights.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch import nn

from ..data.download import DownloadError, fetch_verified
from ..io import atomic_path, sha256_of
from .registry import (
    ARCHITECTURES,
    FROM_TIMM_MODEL,
    ZOOBOT_MEAN,
    ZOOBOT_STD,
    ArchitectureSpec,
    HubFile,
    architecture_spec,
    hub_file,
    is_timm,
    sha256_record,
    timm_model_name,
)


class WeightsError(RuntimeError):
    """Pretrained weights missing, corrupt or not matching the architecture."""


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


_DENSENET_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def densenet_keys(state: dict) -> dict:
    """torchvision's DenseNet files name layers 'norm.1' where the module says 'norm1'."""
    out = {}
    for key, value in state.items():
        match = _DENSENET_KEY.match(key)
        out[match.group(1) + match.group(2) if match else key] = value
    return out


STATE_DICT_KEYS: dict[str, Callable[[dict], dict]] = {
    "plain": lambda state: state,
    "densenet": densenet_keys,
    # torchvision's Inception v3 file holds the auxiliary classifier, which the registry's entry leaves out
    "inception": lambda state: {k: v for k, v in state.items() if not k.startswith("AuxLogits.")},
}


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


def _expected_sha256(path: Path, spec: ArchitectureSpec) -> str:
    if spec.source != "timm":
        return spec.hash_prefix
    record = Path(sha256_record(path))
    if not record.is_file():
        raise WeightsError(
            f"{path} has no {record.name} beside it, so it cannot be verified. Fetch it with `snakemake {path}` "
            f"(rule fetch_hub_weights), or write the file's sha256 into {record} yourself."
        )
    text = record.read_text().split()
    if not text or not re.fullmatch(r"[0-9a-f]{64}", text[0]):
        raise WeightsError(f"{record} holds no sha256 (64 hex digits): {record.read_text()[:80]!r}")
    return text[0]


def verify_weights(path: os.PathLike, spec: ArchitectureSpec) -> None:
    """Refuse a weights file that is missing or whose sha256 does not start with its expected hash."""
    path = Path(path)
    if not path.is_file():
        rule = "fetch_hub_weights" if spec.source == "timm" else "fetch_weights"
        raise WeightsError(
            f"pretrained weights not found: looked for {path}. Fetch them with "
            f"`snakemake {path}` (rule {rule}) on a machine with network access."
        )
    expected = _expected_sha256(path, spec)
    digest = sha256_of(path)
    if not digest.startswith(expected):
        raise WeightsError(
            f"{path}: sha256 {digest[:16]}... does not match the expected {expected[:16]}...; "
            "the file is corrupt or not these weights. Delete it and fetch it again."
        )


def fetch_weights(architecture_name: str, target: os.PathLike, mirror: str | None, weights: str = "imagenet",
                  hub_endpoint: str | None = None) -> None:
    """Put an architecture's pretrained weights at `target`, verified by hash: torchvision's or a package's
    file, or (timm architectures) a file of the Hugging Face hub at `hub_endpoint` (config key hub_endpoint;
    None: huggingface_hub's own default)."""
    if is_timm(architecture_name):
        fetch_hub_file(hub_file(architecture_name, weights), target, hub_endpoint)
    else:
        fetch_weights_file(architecture_spec(architecture_name), target, mirror, architecture_name)


def fetch_hub_file(hub: HubFile, target: os.PathLike, endpoint: str | None) -> None:
    """Download a hub file to `target` and write the sha256 the hub states for it to <target>.sha256.

    The hub answers a HEAD request for a file with its commit (X-Repo-Commit)
    and, for a large (LFS) file, its sha256 (X-Linked-Etag); huggingface_hub
    reads both. The file is then fetched from that commit, resumably, and kept
    only when its bytes have that sha256 (the check `verify_weights` makes
    before every use, so it is not made again here). A server that states no
    sha256 cannot be trusted with weights, and is refused.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    target = Path(target)
    url = hf_hub_url(hub.repository, hub.file, revision=hub.revision, endpoint=endpoint)
    advice = (f"Set hub_endpoint in the config to a mirror of the Hugging Face hub, or put the file at {target} and "
              f"its sha256 in {sha256_record(target)} yourself.")
    try:
        metadata = get_hf_file_metadata(url, endpoint=endpoint)  # one HEAD; the download itself retries
    except Exception as error:  # httpx2's connection errors and huggingface_hub's HTTP errors share no base class
        raise WeightsError(f"cannot fetch {url}: {type(error).__name__}: {error}. {advice}") from None
    sha256 = metadata.etag or ""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise WeightsError(f"{url}: the server states no sha256 for the file (ETag {metadata.etag!r}), so it cannot "
                           f"be verified. {advice}")
    pinned = hf_hub_url(hub.repository, hub.file, revision=metadata.commit_hash or hub.revision, endpoint=endpoint)
    print(f"fetching {hub.repository}/{hub.file} at commit {metadata.commit_hash} (sha256 {sha256})", flush=True)
    try:
        fetch_verified(pinned, target, sha256)
    except (DownloadError, OSError) as error:
        raise WeightsError(f"cannot fetch {pinned}: {error}. {advice}") from None
    with atomic_path(sha256_record(target)) as record:
        record.write_text(f"{sha256}  {target.name}\n")


def fetch_weights_file(spec: ArchitectureSpec, target: os.PathLike, mirror: str | None, what: str = "") -> None:
    """Download (from `mirror` + file name when given) or copy from the installed package, then verify."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if spec.weights_package is None:
        url = f"{mirror.rstrip('/')}/{spec.weights_file}" if mirror else spec.weights_url
        # torch.hub writes to a temporary file, checks the hash prefix, then moves it.
        try:
            torch.hub.download_url_to_file(url, str(target), hash_prefix=spec.hash_prefix, progress=True)
        except (OSError, RuntimeError) as error:  # URLError is an OSError; a hash mismatch a RuntimeError
            raise WeightsError(
                f"cannot fetch {url}: {error}. Set weights_mirror in the config to a server that has "
                f"{spec.weights_file}, or put the file at {target} yourself."
            ) from None
    else:
        found = importlib.util.find_spec(spec.weights_package)
        if found is None or found.origin is None:
            raise WeightsError(
                f"the ImageNet weights of {what or spec.weights_file} ship in the PyPI package "
                f"{spec.weights_package.replace('_', '-')}, which is not installed"
            )
        shipped = Path(found.origin).parent / spec.weights_package_path
        verify_weights(shipped, spec)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.copyfile(shipped, tmp)
        os.replace(tmp, target)
    verify_weights(target, spec)


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
        state = _load_state(weights_path)
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


def weights_normalization(model: nn.Module, architecture_name: str, weights: str) -> dict:
    """The input normalisation a model's weights were trained with: what training.normalization `weights` means.

    model: the network as build_model made it (a timm model carries its pretrained_cfg); weights: the config's
    `imagenet`, `zoobot` or `none`. Returns {"mean": [3 floats], "std": [3 floats], "source": str}, the
    channel means and spreads on the 0-1 pixel scale, applied as (x - mean) / std (augment.normalize), and the
    source in words; the run's saved settings hold it.

    - timm weights (`imagenet`): the model's own timm pretrained_cfg (timm's default pretrained tag, the file
      fetched for it), as timm.data.resolve_model_data_config reads it.
    - Zoobot weights: Zoobot's encoders' pretrained_cfg, mean and std 0.5 per channel (models.registry.ZOOBOT_MEAN).
    - torchvision weights (and efficientnet_lite0's ImageNet file): ImageNet's means and spreads, which
      torchvision's ImageNet weights expect (their transforms' mean and std).
    - scratch (`none`): the rule is the normalisation of the architecture's ImageNet weights, so that a scratch
      arm sees the same inputs as its pretrained arm and the two differ in their starting weights alone; an
      architecture without pretrained weights (the published galaxy networks) gets none: pixels in 0-1,
      mean 0 and std 1.

    Raises ValueError for an unknown weights source.
    """
    spec = architecture_spec(architecture_name)
    if weights == "zoobot":
        return {"mean": list(ZOOBOT_MEAN), "std": list(ZOOBOT_STD), "source": "Zoobot encoder's timm pretrained_cfg"}
    if weights not in ("imagenet", "none"):
        raise ValueError(f"weights {weights!r}: expected imagenet, zoobot or none")
    if spec.source == "timm":
        config = model.pretrained_cfg
        return {"mean": [float(v) for v in config["mean"]], "std": [float(v) for v in config["std"]],
                "source": f"timm pretrained_cfg of {timm_model_name(architecture_name)} ({config.get('tag') or 'default'})"}
    if spec.has_weights:
        from .registry import IMAGENET_MEAN, IMAGENET_STD

        return {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "source": "ImageNet (torchvision's weights)"}
    return {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "source": "none: no pretrained weights"}


def _load_state(path: os.PathLike) -> dict:
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def layers(model: nn.Module, architecture_name: str) -> list[tuple[str, nn.Module]]:
    """The network's layers below its head, from the input side: what `frozen_share` counts.

    A layer is a module that holds parameters of its own: a convolution, a
    batch norm, a linear layer (and, in a vision transformer, the encoder with
    its position embedding and the network itself with its class token). They
    come in the order the modules are registered, which for every registry
    architecture is the order of the forward pass (a ResNet's shortcut
    projection counts after its block's main path; a vision transformer's
    class token, held by the network itself, counts first). The head is not
    counted.
    Parameter-free modules (activations, pooling, dropout) are not layers.
    """
    head = head_path(model, architecture_name)
    found = []
    for name, module in model.named_modules():
        if name == head or name.startswith(head + "."):
            continue
        if any(True for _ in module.parameters(recurse=False)):
            found.append((name, module))
    return found


def frozen_layer_count(n_layers: int, frozen_share: float) -> int:
    """How many of n layers a share freezes: the nearest whole number, halves rounded up."""
    if not 0.0 <= frozen_share <= 1.0:
        raise ValueError(f"frozen_share must lie in [0, 1], not {frozen_share}")
    return min(n_layers, int(frozen_share * n_layers + 0.5))


def freeze_layers(model: nn.Module, architecture_name: str, frozen_share: float) -> list[str]:
    """Keep the first `frozen_share` of the layers (see `layers`) at their weights; returns their names.

    Their parameters stop needing gradients, so the optimiser is given only the
    others. A frozen batch norm also keeps its running statistics: training
    puts it in eval mode (`hold_frozen_batch_norms`), as Keras does with a
    batch norm that is not trainable; so 1.0 trains the new head on the
    ImageNet features exactly as they are.
    """
    found = layers(model, architecture_name)
    frozen = found[: frozen_layer_count(len(found), frozen_share)]
    for _, module in frozen:
        for parameter in module.parameters(recurse=False):
            parameter.requires_grad_(False)
    return [name for name, _ in frozen]


def hold_frozen_batch_norms(model: nn.Module) -> None:
    """Put every batch norm whose parameters are all frozen in eval mode (call after model.train())."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            own = list(module.parameters(recurse=False))
            if own and not any(p.requires_grad for p in own):
                module.eval()


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


__all__ = ["ARCHITECTURES", "WeightsError", "build_model", "densenet_keys", "fetch_hub_file", "fetch_weights",
           "fetch_weights_file", "freeze_layers", "frozen_layer_count", "gradcam_layer_path", "head_path",
           "hold_frozen_batch_norms", "layers", "module_at", "sha256_of", "sha256_record", "trainable_parameters",
           "verify_weights"]
