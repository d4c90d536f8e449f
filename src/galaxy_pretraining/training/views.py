"""The images a network sees, built once per run.

One object for training, evaluation, Grad-CAM, feature maps and the benchmarks.

`Views.from_settings` reads the augmentation and normalisation fields of a
run's settings (a Protocol, or the mapping `Run.settings()` gives and a best.pt
holds, with the values resolved for the run) and checks them together; its methods then take only the images and the random stream,
as torchvision's transform presets do. Every caller that builds its views
this way runs the very transform training runs: no caller picks which of the
settings to pass. The tensor operations themselves are in `augment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass

import numpy as np
import torch

from ..models.registry import IMAGENET_MEAN, IMAGENET_STD
from .augment import (
    FROM_WEIGHTS,
    NORMALIZATIONS,
    QUARTER_TURNS,
    center_crop,
    colour_jitter,
    crop_and_flip,
    crop_flip_rotate_nearest,
    normalize,
    rotate,
    scale_jitter_view,
    scale_test_view,
    shift_channels,
    to_float,
)
from .spec import Protocol

EVALUATIONS = ("paper", "center")  # training.evaluation
INTERPOLATIONS = ("nearest", "bilinear")  # training.interpolation


@dataclass(frozen=True)
class Views:
    """A run's training and evaluation views.

    From config key `training`, field for field, as its settings hold them.

    `compiled` (nearest interpolation only): the per-pixel arithmetic of the training view as one
    torch.compile'd function, with the same random draws (training.compile, resolved for the device).
    Construction raises ValueError for a combination no view exists for: quarter turns without scale_jitter,
    an unknown evaluation, interpolation or normalisation, or normalisation `weights` not yet resolved into
    {mean, std} (models.weights.weights_normalization does that when the model is built).
    """

    crop_size: int
    flips: bool
    rotation: float | str  # degrees either way, or "quarter_turns" (with scale_jitter)
    interpolation: str
    normalization: str | Mapping
    evaluation: str
    channel_shift: float
    scale_jitter: Mapping | None
    colour_jitter: Mapping | None
    compiled: bool = False

    def __post_init__(self):  # noqa: D105 (the checks are the class docstring's Raises)
        if self.rotation == QUARTER_TURNS and self.scale_jitter is None:
            raise ValueError("rotation: quarter_turns belongs to the scale_jitter protocol (training.scale_jitter)")
        if self.evaluation not in EVALUATIONS:
            raise ValueError(f"unknown evaluation transform {self.evaluation!r}; use one of {EVALUATIONS}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"unknown interpolation {self.interpolation!r}; use one of {INTERPOLATIONS}")
        if self.normalization == FROM_WEIGHTS:
            raise ValueError("normalization 'weights' is resolved when the model is built "
                             "(models.weights.weights_normalization); build the views from Run.settings()")
        if not isinstance(self.normalization, Mapping) and self.normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {self.normalization!r}; use one of {NORMALIZATIONS}")

    @classmethod
    def from_settings(cls, settings: Protocol | Mapping, compiled: bool = False) -> Views:
        """The views of a run from its settings: a Protocol, or the mapping Run.settings() gives.

        A best.pt holds that mapping.

        Raises KeyError naming a field the mapping lacks, and ValueError as the class says.
        """
        values = asdict(settings) if is_dataclass(settings) else settings
        names = [f.name for f in fields(cls) if f.name != "compiled"]
        missing = [name for name in names if name not in values]
        if missing:
            raise KeyError(f"the run's settings lack {missing}, which its views need")
        return cls(**{name: values[name] for name in names}, compiled=compiled)

    def train(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The training view of a uint8 batch (N x 3 x S x S): float N x 3 x crop x crop, normalised.

        Without scale_jitter: a random crop (a translation), flips, a rotation in [-rotation, rotation] with
        zero fill, then, with channel_shift > 0, a colour shift (drawn after the geometry, so a study without it
        draws exactly as before). With scale_jitter (Zhu et al. 2019): scale_jitter_view instead, then
        colour_jitter when set. Every image gets its own draws from `generator`.
        """
        if self.scale_jitter is not None:
            quarter_turns = self.rotation == QUARTER_TURNS
            out = scale_jitter_view(images, self.scale_jitter, self.crop_size, self.flips, quarter_turns, generator)
            out = out / 255.0
            if self.colour_jitter is not None:
                out = colour_jitter(out, self.colour_jitter, generator)
            return normalize(out, self.normalization)
        if self.interpolation == "nearest":
            out = crop_flip_rotate_nearest(images, self.crop_size, self.flips, self.rotation, generator, self.compiled)
        else:
            out = crop_and_flip(images, self.crop_size, self.flips, generator).float()
            if self.rotation > 0:
                # Rotation with zero fill before normalising, as torchvision's per-image pipeline does.
                degrees = (torch.rand(out.shape[0], generator=generator, device=out.device) * 2 - 1) * self.rotation
                out = rotate(out, degrees, self.interpolation)
        if self.channel_shift > 0:
            out = shift_channels(out.float(), self.channel_shift, generator)
        return to_float(out, self.normalization)

    def center(self, images: torch.Tensor, test_side: int | None = None) -> torch.Tensor:
        """The deterministic view of a uint8 batch: float N x 3 x crop x crop, normalised.

        A centre crop; with
        scale_jitter, the centre crop of `test_side` (default scale_jitter's test_side) resized to its `resize`
        and centre-cropped (scale_test_view). What Grad-CAM and the feature maps show the network.
        """
        if self.scale_jitter is None:
            return to_float(center_crop(images, self.crop_size), self.normalization)
        side = self.scale_jitter["test_side"] if test_side is None else test_side
        return normalize(scale_test_view(images, side, self.scale_jitter["resize"], self.crop_size) / 255.0,
                         self.normalization)

    def evaluate(self, images: torch.Tensor, generator: torch.Generator, test_side: int | None = None) -> torch.Tensor:
        """The evaluation view as training.evaluation says.

        `paper`: the training view (as the published code evaluates); `center`: the deterministic view
        (`center`, at `test_side` with scale_jitter).
        """
        if self.evaluation == "paper":
            return self.train(images, generator)
        return self.center(images, test_side)

    def displayable(self, batch: torch.Tensor) -> np.ndarray:
        """A batch of these views (float N x 3 x H x W, on the CPU) back as pixels for drawing.

        Float32 N x H x W x 3 in 0-1: the normalisation undone; a per-image standardised view, which cannot be undone,
        stretched from its own darkest to its brightest value.
        """
        normalization = self.normalization
        if isinstance(normalization, Mapping):  # training.normalization `weights`, as the run's settings hold it
            mean, std = normalization["mean"], normalization["std"]
            batch = batch * torch.tensor(std).view(1, 3, 1, 1) + torch.tensor(mean).view(1, 3, 1, 1)
        elif normalization == "imagenet":
            batch = batch * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        elif normalization == "per_image":
            low = batch.amin(dim=(1, 2, 3), keepdim=True)
            high = batch.amax(dim=(1, 2, 3), keepdim=True)
            batch = (batch - low) / (high - low).clamp_min(1e-12)
        return batch.clamp(0, 1).permute(0, 2, 3, 1).numpy()
