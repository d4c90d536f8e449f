"""The settings of one training run, as plain data (no torch: the workflow builds them at parse time).

No field has a default: every value comes from the resolved config, whose
defaults the schema states once (the paper's protocol).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


@dataclass
class TrainSettings:
    """Everything that decides a run's numbers, plus where and how often it saves."""

    # the job: one (model, run)
    architecture: str
    weights: str  # imagenet | zoobot | none (config key models.<name>.weights)
    epochs: int
    frozen_share: float  # share of the layers below the head kept at their pretrained weights (models.freezing.freeze_layers)
    dropout: float | None  # models.<name>.dropout: the network's dropout (wide_preact_resnet26); None: none
    n_classes: int
    run: int
    train_fraction: float  # share of each class's training galaxies the run keeps (splits.labelled_subset)
    # the run's split, drawn from these (the same draw as splits.parquet, see data/splits.py)
    split: dict
    # config key `training`, field for field
    seed: int
    batch_size: int
    eval_batch_size: int
    optimizer: dict
    lr_schedule: dict | None  # {milestones, gamma, unit}: step decay; None: a constant learning rate
    max_iterations: int | None  # optimiser steps after which the run stops, inside an epoch if need be
    crop_size: int
    flips: bool
    rotation: float | str  # degrees either way, or "quarter_turns" (with scale_jitter)
    scale_jitter: dict | None  # Zhu et al.'s views: {sides, resize, test_sides, test_side}
    colour_jitter: dict | None  # {brightness, contrast, saturation, hue}
    channel_shift: float
    oversample: bool
    budget_scaling: str  # epochs | steps: what a run on a fraction of the labels keeps equal to a full run
    interpolation: str
    # none | imagenet | per_image | weights; `weights` becomes {mean, std, source} once the model is built
    # (models.weights.weights_normalization), and the run's saved settings hold that
    normalization: str | dict
    evaluation: str
    mixed_precision: bool
    deterministic: bool
    checkpoint_every: int
    device: str
    compile: bool | str  # true | false | "auto" (on CUDA only)

    JOB_FIELDS = ("architecture", "weights", "epochs", "frozen_share", "dropout", "n_classes", "run", "train_fraction",
                  "split")
    # Fields that change where or how often a run saves, never its numbers.
    NOT_IN_FINGERPRINT = ("checkpoint_every", "device", "eval_batch_size", "compile")

    def fingerprint(self) -> str:
        """Hash of the settings that change results: a checkpoint of other settings is never resumed."""
        relevant = {k: v for k, v in asdict(self).items() if k not in self.NOT_IN_FINGERPRINT}
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]
