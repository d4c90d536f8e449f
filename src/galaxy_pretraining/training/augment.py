"""Batched augmentation on the device, the tensor operations: every image of a batch gets its own random transform.

views.Views puts them together as a run's settings say; call them through it.

The paper's per-image pipeline (random 224 crop, horizontal and vertical flips,
rotation up to 180 degrees with zero fill) done on whole uint8 batches with
tensor ops: crop and flips are one gather with per-image index vectors, the
rotation one affine grid with a per-image angle. (torchvision's v2
RandomRotation on a batch draws a single angle for the whole batch, which is
not the protocol.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from ..models.registry import IMAGENET_MEAN, IMAGENET_STD  # ImageNet weights' normalisation, stated with the weights

NORMALIZATIONS = ("none", "imagenet", "per_image", "weights")
# training.normalization `weights` before the model is built: models.weights.weights_normalization turns it into a
# {mean, std, source} mapping, which is what the run then holds and normalize() applies.
FROM_WEIGHTS = "weights"
QUARTER_TURNS = "quarter_turns"  # training.rotation: a random multiple of 90 degrees instead of any angle


def _gather(images: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """images[b, :, rows[b, i], cols[b, j]] for every b, i, j."""
    batch = torch.arange(images.shape[0], device=images.device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return images[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def _draw_crops_and_flips(images: torch.Tensor, crop: int, flips: bool, generator: torch.Generator):
    """Per-image crop offsets (top, left) and flips (vertical, horizontal; None without flips), in that draw order."""
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
    _, _, height, width = images.shape
    top, left = (height - crop) // 2, (width - crop) // 2
    return images[:, :, top : top + crop, left : left + crop]


def to_float(images: torch.Tensor, normalization: str | Mapping = "none") -> torch.Tensor:
    """uint8 (or float on the 0-255 scale) -> float in [0, 1], then normalised (see `normalize`)."""
    out = images.float() if images.dtype != torch.float32 else images.clone()
    return normalize(out.div_(255.0), normalization)


def normalize(images: torch.Tensor, normalization: str | Mapping) -> torch.Tensor:
    """A float batch (N x 3 x H x W) in [0, 1] as the network sees it. `none`: as it is; `imagenet`: ImageNet's
    channel means and spreads; `per_image`: each image to mean 0 and sd 1 over all its pixels and channels, the sd
    held at least 1/sqrt(pixels x channels) (TensorFlow's per_image_standardization, Zhu et al.'s "whitening");
    a mapping with `mean` and `std` (three floats each, on the 0-1 scale): (x - mean) / std per channel, what
    `weights` becomes once the model is built (models.weights.weights_normalization).

    Raises ValueError for an unknown name, and for `weights` not yet resolved."""
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


# --- Zhu et al. (2019): scale jittering, quarter turns, colour jitter ---------------------------------------


def scale_crop_theta(side: torch.Tensor, offset: torch.Tensor, turns: torch.Tensor, flip: torch.Tensor,
                     store_side: int, resize: int, crop: int) -> torch.Tensor:
    """The affine maps (N x 2 x 3, affine_grid's convention, align_corners=False) of a centre crop of `side`
    pixels of a store image of `store_side`, resized to `resize`, cropped to `crop` at (offset_y, offset_x)
    (N x 2) of the resized image, then turned by `turns` quarter turns counter-clockwise and flipped
    left-right where `flip`.

    Resize and crop are one sampling: the crop's pixel i is the resized image's pixel offset + i, whose centre
    lies at top + (offset + i + 1/2) * side / resize in the store (top = (store_side - side) // 2, as
    TensorFlow's central crop), so a bilinear sample there is what resizing (bilinear, no antialiasing) and
    cropping give, without the resized image in between."""
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


def scale_jitter_view(images: torch.Tensor, scale_jitter: dict, crop: int, flips: bool, quarter_turns: bool,
                      generator: torch.Generator) -> torch.Tensor:
    """Zhu et al.'s training view of each image: a centre crop of a random side in scale_jitter's `sides`
    (whole pixels, both ends included), resized to `resize`, a random crop of `crop`, a random number of quarter
    turns (when `quarter_turns`) and a left-right flip with probability 1/2 (when `flips`). Quarter turns and
    that one flip already give all eight symmetries of the square with equal chances, so a vertical flip
    would change nothing. Float 0-255.

    With `run_side` and `run_turns` in scale_jitter (draw: per_run; run.build_run draws them once per run),
    every image gets that side and that many quarter turns (when `quarter_turns`); offsets and flips stay per
    image."""
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
    """The test view at one scale: centre crop of `side`, resized to `resize`, centre crop of `crop`. Float 0-255."""
    n, device = images.shape[0], images.device
    sides = torch.full((n,), side, device=device)
    offset = torch.full((n, 2), (resize - crop) // 2, device=device)
    none = torch.zeros(n, dtype=torch.long, device=device)
    theta = scale_crop_theta(sides, offset, none, none.bool(), images.shape[-1], resize, crop)
    return scale_crop(images, theta, crop)


def colour_jitter(images: torch.Tensor, jitter: dict, generator: torch.Generator) -> torch.Tensor:
    """Per-image random brightness, contrast, saturation and hue on a float batch in [0, 1], in that order,
    with kornia's batch operations (one factor per image): brightness adds a value in [-b, b]; contrast scales
    each image's deviation from its mean by a factor in [1 - c, 1 + c]; saturation scales its HSV saturation
    by a factor in [1 - s, 1 + s]; hue turns its HSV hue by a share of a full turn in [-h, h]. The result is
    clipped to [0, 1]. As TensorFlow's random_brightness, random_contrast, random_saturation and random_hue."""
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
    """Keras' channel_shift_range on a float batch (0-255 scale): one random shift per image, in
    [-channel_shift, channel_shift], added to all its channels and clipped to the image's own min and max."""
    n = images.shape[0]
    shift = (torch.rand(n, generator=generator, device=images.device) * 2 - 1) * channel_shift
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    return torch.clamp(images + shift.view(n, 1, 1, 1), low, high)
