"""Per-image crops, flips and rotations on whole uint8 batches on the device.

Crop and flips are one gather with per-image index vectors, the rotation one
affine grid with a per-image angle: torchvision's v2 RandomRotation on a batch
draws a single angle for the whole batch, which is not the protocol.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

QUARTER_TURNS = "quarter_turns"  # training.rotation: a random multiple of 90 degrees instead of any angle


def _gather(images: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """images[b, :, rows[b, i], cols[b, j]] for every b, i, j."""
    batch = torch.arange(images.shape[0], device=images.device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return images[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def _draw_crops_and_flips(images: torch.Tensor, crop: int, flips: bool, generator: torch.Generator):
    """Per-image crop offsets (top, left) and flips (vertical, horizontal), drawn in that order.

    The flips are None without flips.
    """
    n, _, height, width = images.shape
    device = images.device
    top = torch.randint(0, height - crop + 1, (n,), generator=generator, device=device)
    left = torch.randint(0, width - crop + 1, (n,), generator=generator, device=device)
    if not flips:
        return top, left, None, None
    flip_vertical = torch.rand(n, generator=generator, device=device) < 0.5
    flip_horizontal = torch.rand(n, generator=generator, device=device) < 0.5
    return top, left, flip_vertical, flip_horizontal


def crop_and_flip(images: torch.Tensor, crop: int, flips: bool, generator: torch.Generator) -> torch.Tensor:
    """Per-image random crop offsets and horizontal/vertical flips, on the uint8 batch."""
    top, left, flip_vertical, flip_horizontal = _draw_crops_and_flips(images, crop, flips, generator)
    steps = torch.arange(crop, device=images.device)
    rows = top[:, None] + steps[None, :]
    cols = left[:, None] + steps[None, :]
    if flips:
        rows = torch.where(flip_vertical[:, None], rows.flip(1), rows)
        cols = torch.where(flip_horizontal[:, None], cols.flip(1), cols)
    return _gather(images, rows, cols)


def rotate(images: torch.Tensor, degrees: torch.Tensor, interpolation: str = "nearest") -> torch.Tensor:
    """Rotate each float image counter-clockwise by its own angle about its centre, zero fill."""
    radians = degrees.to(images.dtype) * (math.pi / 180.0)
    cos, sin = torch.cos(radians), torch.sin(radians)
    zero = torch.zeros_like(cos)
    # The grid maps output to input coordinates (x right, y down), so a
    # counter-clockwise turn of the picture uses the matrix of -angle in those axes.
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode=interpolation, padding_mode="zeros", align_corners=False)


def crop_flip_rotate_nearest(
    images: torch.Tensor, crop: int, flips: bool, rotation: float, generator: torch.Generator, compiled: bool = False
) -> torch.Tensor:
    """Crop, flips and rotation with nearest-neighbour sampling as one gather on the uint8 batch.

    The same random draws and the same result as crop_and_flip() followed by
    rotate(..., "nearest"), without a float copy of the batch or grid_sample:
    every output pixel's source pixel is computed once and read straight from
    the uint8 images. Pixels that the rotation brings in from outside the crop
    are zero, as in torchvision's RandomCrop followed by RandomRotation.
    `compiled`: the index arithmetic and gather as one torch.compile'd function
    (the draws stay outside it, on the generator).
    """
    n = images.shape[0]
    top, left, flip_vertical, flip_horizontal = _draw_crops_and_flips(images, crop, flips, generator)
    degrees = (torch.rand(n, generator=generator, device=images.device) * 2 - 1) * rotation
    if not flips:
        flip_vertical = flip_horizontal = torch.zeros(n, dtype=torch.bool, device=images.device)
    gather = _compiled_nearest_gather() if compiled else _nearest_gather
    return gather(images, top, left, flip_vertical, flip_horizontal, degrees, crop)


def _nearest_gather(images, top, left, flip_vertical, flip_horizontal, degrees, crop: int) -> torch.Tensor:
    """The gather of crop_flip_rotate_nearest for given draws: no randomness, so it can be compiled."""
    n, channels, height, width = images.shape
    radians = degrees * (math.pi / 180.0)
    cos, sin = torch.cos(radians), torch.sin(radians)
    # A flip of the crop negates one centred source coordinate: fold it into the rotation's rows.
    sign_row = 1 - 2 * flip_vertical.float()
    sign_col = 1 - 2 * flip_horizontal.float()
    centre = (crop - 1) / 2.0
    steps = torch.arange(crop, device=images.device, dtype=torch.float32) - centre

    def source(along_x: torch.Tensor, along_y: torch.Tensor) -> torch.Tensor:
        # Output pixel -> crop pixel it shows, rounded as grid_sample's nearest mode does.
        return torch.round((along_x[:, None] * steps)[:, None, :] + (along_y[:, None] * steps + centre)[:, :, None]).int()

    row = source(sign_row * sin, sign_row * cos)
    col = source(sign_col * cos, -sign_col * sin)
    inside = (row >= 0) & (row < crop) & (col >= 0) & (col < crop)
    offset = (top * width + left).int()[:, None, None]
    index = torch.where(inside, row * width + col + offset, height * width).long()
    # One zero pixel after each image's last one stands for everything outside the crop.
    flat = torch.cat([images.reshape(n, channels, height * width), images.new_zeros(n, channels, 1)], dim=2)
    index = index.reshape(n, 1, crop * crop).expand(n, channels, crop * crop)
    return torch.gather(flat, 2, index).reshape(n, channels, crop, crop)


@functools.cache
def _compiled_nearest_gather():
    return torch.compile(_nearest_gather, dynamic=False)


def center_crop(images: torch.Tensor, crop: int) -> torch.Tensor:
    """The centre `crop` x `crop` pixels of every image of a batch."""
    _, _, height, width = images.shape
    top, left = (height - crop) // 2, (width - crop) // 2
    return images[:, :, top : top + crop, left : left + crop]

