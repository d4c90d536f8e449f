"""Colour augmentation: Zhu et al.'s colour jitter and Keras' channel shift, one draw per image."""

from __future__ import annotations

import torch


def colour_jitter(images: torch.Tensor, jitter: dict, generator: torch.Generator) -> torch.Tensor:
    """Per-image random brightness, contrast, saturation and hue on a float batch in [0, 1], in that order.

    With kornia's batch operations (one factor per image): brightness adds a value in [-b, b]; contrast scales
    each image's deviation from its mean by a factor in [1 - c, 1 + c]; saturation scales its HSV saturation
    by a factor in [1 - s, 1 + s]; hue turns its HSV hue by a share of a full turn in [-h, h]. The result is
    clipped to [0, 1]. As TensorFlow's random_brightness, random_contrast, random_saturation and random_hue.
    """
    from kornia import enhance

    n, device = images.shape[0], images.device

    def draw(spread: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator, device=device) * 2 - 1) * spread

    brightness, contrast = draw(jitter["brightness"]), 1 + draw(jitter["contrast"])
    saturation, hue = 1 + draw(jitter["saturation"]), draw(jitter["hue"])
    out = (images + brightness.view(n, 1, 1, 1)).clamp(0, 1)
    out = enhance.adjust_contrast_with_mean_subtraction(out, contrast).clamp(0, 1)
    out = enhance.adjust_saturation(out, saturation).clamp(0, 1)
    return enhance.adjust_hue(out, hue * 2 * torch.pi).clamp(0, 1)


def shift_channels(images: torch.Tensor, channel_shift: float, generator: torch.Generator) -> torch.Tensor:
    """Keras' channel_shift_range on a float batch (0-255 scale): one random shift per image.

    The shift, in [-channel_shift, channel_shift], is added to all its channels and clipped to the image's own min and max.
    """
    n = images.shape[0]
    shift = (torch.rand(n, generator=generator, device=images.device) * 2 - 1) * channel_shift
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    return torch.clamp(images + shift.view(n, 1, 1, 1), low, high)
