"""Zhu et al. (2019)'s views: scale jittering and test sides.

Scale jittering is a centre crop of a random side, resized, then cropped.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F


def scale_crop_theta(side: torch.Tensor, offset: torch.Tensor, turns: torch.Tensor, flip: torch.Tensor,
                     store_side: int, resize: int, crop: int) -> torch.Tensor:
    """The affine maps (N x 2 x 3, affine_grid's convention, align_corners=False) of Zhu et al.'s view.

    A centre crop of `side` pixels of a store image of `store_side`, resized to `resize`, cropped to `crop` at (offset_y, offset_x)
    (N x 2) of the resized image, then turned by `turns` quarter turns counter-clockwise and flipped
    left-right where `flip`.

    Resize and crop are one sampling: the crop's pixel i is the resized image's pixel offset + i, whose centre
    lies at top + (offset + i + 1/2) * side / resize in the store (top = (store_side - side) // 2, as
    TensorFlow's central crop), so a bilinear sample there is what resizing (bilinear, no antialiasing) and
    cropping give, without the resized image in between.
    """
    dtype = torch.float32
    side = side.to(dtype)
    top = torch.div(store_side - side, 2, rounding_mode="floor")
    scale = crop * side / (resize * store_side)
    # output pixel centre i + 1/2 = crop (v + 1) / 2 in the output's normalised coordinate v
    shift = (2 * top[:, None] + 2 * (offset.to(dtype) + crop / 2) * side[:, None] / resize) / store_side - 1
    angle = turns.to(dtype) * (torch.pi / 2)
    cos, sin = torch.round(torch.cos(angle)), torch.round(torch.sin(angle))
    mirror = 1 - 2 * flip.to(dtype)
    # output (x, y) -> flipped -> turned: x' = mirror x, then a counter-clockwise turn of the picture
    # (x right, y down) reads its source at (cos x' - sin y, sin x' + cos y).
    linear = torch.stack([torch.stack([cos * mirror, -sin], 1), torch.stack([sin * mirror, cos], 1)], 1)
    theta = torch.zeros(len(side), 2, 3, dtype=dtype, device=side.device)
    theta[:, :, :2] = linear * scale[:, None, None]
    theta[:, 0, 2], theta[:, 1, 2] = shift[:, 1], shift[:, 0]
    return theta


def scale_crop(images: torch.Tensor, theta: torch.Tensor, crop: int) -> torch.Tensor:
    """Bilinear samples of a uint8 (or 0-255 float) batch at the maps of scale_crop_theta: float 0-255."""
    grid = F.affine_grid(theta, [images.shape[0], images.shape[1], crop, crop], align_corners=False)
    return F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)


def scale_jitter_view(images: torch.Tensor, scale_jitter: Mapping, crop: int, flips: bool, quarter_turns: bool,
                      generator: torch.Generator) -> torch.Tensor:
    """Zhu et al.'s training view of each image, float 0-255.

    A centre crop of a random side in scale_jitter's `sides`
    (whole pixels, both ends included), resized to `resize`, a random crop of `crop`, a random number of quarter
    turns (when `quarter_turns`) and a left-right flip with probability 1/2 (when `flips`). Quarter turns and
    that one flip already give all eight symmetries of the square with equal chances, so a vertical flip
    would change nothing. Float 0-255.

    With `run_side` and `run_turns` in scale_jitter (draw: per_run; run.build_run draws them once per run and the
    run holds them, Run.scale_jitter),
    every image gets that side and that many quarter turns (when `quarter_turns`); offsets and flips stay per
    image.
    """
    n, device = images.shape[0], images.device
    low, high = scale_jitter["sides"]
    resize = scale_jitter["resize"]
    per_run = "run_side" in scale_jitter
    side = (torch.full((n,), scale_jitter["run_side"], device=device) if per_run
            else torch.randint(low, high + 1, (n,), generator=generator, device=device))
    offset = torch.randint(0, resize - crop + 1, (n, 2), generator=generator, device=device)
    if not quarter_turns:
        turns = torch.zeros(n, dtype=torch.long, device=device)
    elif per_run:
        turns = torch.full((n,), scale_jitter["run_turns"], dtype=torch.long, device=device)
    else:
        turns = torch.randint(0, 4, (n,), generator=generator, device=device)
    flip = (torch.rand(n, generator=generator, device=device) < 0.5 if flips
            else torch.zeros(n, dtype=torch.bool, device=device))
    theta = scale_crop_theta(side, offset, turns, flip, images.shape[-1], resize, crop)
    return scale_crop(images, theta, crop)


def scale_test_view(images: torch.Tensor, side: int, resize: int, crop: int) -> torch.Tensor:
    """The test view at one scale: centre crop of `side`, resized to `resize`, centre crop of `crop`.

    Float 0-255.
    """
    n, device = images.shape[0], images.device
    sides = torch.full((n,), side, device=device)
    offset = torch.full((n, 2), (resize - crop) // 2, device=device)
    none = torch.zeros(n, dtype=torch.long, device=device)
    theta = scale_crop_theta(sides, offset, none, none.bool(), images.shape[-1], resize, crop)
    return scale_crop(images, theta, crop)


