"""A training run's spec: its protocol, the machine it runs on, and its paths.

The protocol is what changes its numbers.

Plain data, no torch: the Study builds the protocols at parse time and the
training job reads the machine when it starts. No field has a default; every
value comes from the resolved config, whose defaults the schema states once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Protocol:
    """Everything that decides one run's numbers.

    It is the training rule's params and the checkpoint's fingerprint.

    Values drawn or resolved while the run trains (the normalisation read from
    the weights, a scale-jitter side) live on the run, never here.
    """

    # the job: one (model, run)
    architecture: str
    weights: str  # imagenet | zoobot | none (models.<name>.weights)
    epochs: int
    frozen_share: float
    dropout: float | None
    class_names: tuple[str, ...]
    run: int
    train_fraction: float
    split: Mapping  # the splits block minus runs and train_fractions: what draws the run's split
    # config key `training`, minus the machine's fields
    seed: int
    batch_size: int
    optimizer: Mapping
    lr_schedule: Mapping | None
    max_iterations: int | None
    crop_size: int
    flips: bool
    rotation: float | str
    scale_jitter: Mapping | None
    colour_jitter: Mapping | None
    channel_shift: float
    oversample: bool
    budget_scaling: str
    interpolation: str
    normalization: str
    evaluation: str
    mixed_precision: bool
    deterministic: bool

    @property
    def n_classes(self) -> int:
        """The number of classes the network's head predicts."""
        return len(self.class_names)

    def params(self) -> dict:
        """The protocol as plain JSON-like data: what the training rule states as params."""
        values = asdict(self)
        values["class_names"] = list(self.class_names)
        return values

    @classmethod
    def from_params(cls, params: Mapping) -> Protocol:
        """The protocol a rule's params hold (the inverse of `params`)."""
        return cls(**{**params, "class_names": tuple(params["class_names"])})

    def fingerprint(self) -> str:
        """A 16-hex-digit hash of the protocol: a checkpoint of another protocol is never resumed."""
        return hashlib.sha256(json.dumps(self.params(), sort_keys=True).encode()).hexdigest()[:16]

    def same_group(self, other: Protocol) -> list[str]:
        """The fields, other than the run, in which two runs differ (runs that share a job differ in none)."""
        return sorted(f.name for f in fields(self) if f.name != "run" and getattr(self, f.name) != getattr(other, f.name))


@dataclass(frozen=True)
class Machine:
    """Where and how a job computes and saves: never in params, so changing it reruns nothing finished."""

    device: str  # auto | cuda | mps | cpu: the schema's enum of `training.device`
    compile: bool | str  # true | false | "auto" (on CUDA only)
    eval_batch_size: int
    checkpoint_every: int  # minutes between mid-epoch checkpoints
    threads: int | None  # CPU threads torch may use; None: torch's default
    tensorboard: bool  # write TensorBoard event files beside each run's metrics (config key `tensorboard`)
    compile_cache: str | None  # torch.compile's cache folder (train_resources.compile_cache); None: torch's default

    @classmethod
    def from_config(cls, config: Mapping, threads: int | None) -> Machine:
        """The machine fields of config keys `training`, `tensorboard` and the compile cache, at job start."""
        training = config["training"]
        return cls(device=training["device"], compile=training["compile"],
                   eval_batch_size=int(training["eval_batch_size"]),
                   checkpoint_every=int(training["checkpoint_every"]), threads=threads,
                   tensorboard=bool(config["tensorboard"]),
                   compile_cache=config["train_resources"]["compile_cache"])


@dataclass(frozen=True)
class RunPaths:
    """Where one run writes: metrics, best-epoch predictions, best weights and its checkpoint.

    best_model is None when the weights are not kept.
    """

    metrics: Path
    predictions: Path
    best_model: Path | None

    def params(self) -> dict:
        """The paths as plain strings: what the training rule states as params.

        best_model is None when not kept.
        """
        return {"metrics": str(self.metrics), "predictions": str(self.predictions),
                "best_model": None if self.best_model is None else str(self.best_model)}

    @classmethod
    def from_params(cls, params: Mapping) -> RunPaths:
        """The paths a rule's params hold (the inverse of `params`)."""
        best = params["best_model"]
        return cls(Path(params["metrics"]), Path(params["predictions"]), None if best is None else Path(best))

    @property
    def checkpoint(self) -> Path:
        """The run's `last.pt`, beside its metrics."""
        return Path(self.metrics).with_name("last.pt")


# The values each named choice of the spec may take, by its config key under `training` (models.<name>.weights for
# `weights`); the schema states the same enums, and tests/unit/study/test_run_spec.py checks that they agree.
CHOICES: dict[str, tuple] = {
    "weights": ("imagenet", "zoobot", "none"),
    "optimizer.name": ("sgd", "adam", "adamw"),
    "lr_schedule.unit": ("iterations", "epochs"),
    "scale_jitter.draw": ("per_image", "per_run"),
    "budget_scaling": ("epochs", "steps"),
    "interpolation": ("nearest", "bilinear"),
    "normalization": ("none", "imagenet", "per_image", "weights"),
    "evaluation": ("paper", "center"),
    "device": ("auto", "cuda", "mps", "cpu"),
    "compile": ("auto", True, False),
}
