"""Batched augmentation on the device, one module per kind.

Every image of a batch gets its own random transform.

`views.Views` puts them together as a run's protocol says; call them through it.
"""

from .colour import colour_jitter, shift_channels
from .geometry import QUARTER_TURNS, center_crop, crop_and_flip, crop_flip_rotate_nearest, rotate
from .normalization import FROM_WEIGHTS, IMAGENET_MEAN, IMAGENET_STD, NORMALIZATIONS, normalize, to_float
from .scale_jitter import scale_crop, scale_crop_theta, scale_jitter_view, scale_test_view

__all__ = [
    "FROM_WEIGHTS", "IMAGENET_MEAN", "IMAGENET_STD", "NORMALIZATIONS", "QUARTER_TURNS", "center_crop", "colour_jitter",
    "crop_and_flip", "crop_flip_rotate_nearest", "normalize", "rotate", "scale_crop", "scale_crop_theta",
    "scale_jitter_view", "scale_test_view", "shift_channels", "to_float",
]
