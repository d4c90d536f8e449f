"""Normalisation: a float batch in [0, 1] as the network sees it (training.normalization)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ...models.registry import IMAGENET_MEAN, IMAGENET_STD  # ImageNet weights' normalisation, stated with the weights

NORMALIZATIONS = ("none", "imagenet", "per_image", "weights")
# training.normalization `weights` before the model is built: models.weights.weights_normalization turns it into a
# {mean, std, source} mapping, which the run then holds (Run.normalization) and normalize() applies.
FROM_WEIGHTS = "weights"


def to_float(images: torch.Tensor, normalization: str | Mapping = "none") -> torch.Tensor:
    """uint8 (or float on the 0-255 scale) -> float in [0, 1], then normalised (see `normalize`)."""
    out = images.float() if images.dtype != torch.float32 else images.clone()
    return normalize(out.div_(255.0), normalization)


def normalize(images: torch.Tensor, normalization: str | Mapping) -> torch.Tensor:
    """A float batch (N x 3 x H x W) in [0, 1] as the network sees it.

    `none`: as it is; `imagenet`: ImageNet's
    channel means and spreads; `per_image`: each image to mean 0 and sd 1 over all its pixels and channels, the sd
    held at least 1/sqrt(pixels x channels) (TensorFlow's per_image_standardization, Zhu et al.'s "whitening");
    a mapping with `mean` and `std` (three floats each, on the 0-1 scale): (x - mean) / std per channel, what
    `weights` becomes once the model is built (models.weights.weights_normalization).

    Raises ValueError for an unknown name, and for `weights` not yet resolved.
    """
    if isinstance(normalization, Mapping):
        mean = torch.tensor(normalization["mean"], dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(normalization["std"], dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        return (images - mean) / std
    if normalization == "none":
        return images
    if normalization == "imagenet":
        mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
        return (images - mean) / std
    if normalization == "per_image":
        values = images[0].numel()
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        std = images.std(dim=(1, 2, 3), keepdim=True, correction=0).clamp_min(values**-0.5)
        return (images - mean) / std
    if normalization == FROM_WEIGHTS:
        raise ValueError("normalization 'weights' is resolved when the model is built "
                         "(models.weights.weights_normalization); this batch came before that")
    raise ValueError(f"unknown normalization {normalization!r}; use one of {NORMALIZATIONS}")

