"""A run in training.

What `build_run` makes, `checkpoints.resume` restores and `loop.train_epochs` advances.

`Run` holds the run's protocol and machine (never changed), what was drawn or
resolved for it when it was built (the normalisation read from its weights,
a per-run scale-jitter view), its model, optimiser, random streams, history
and best epoch.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..models.build import build_model
from ..models.freezing import freeze_layers, trainable_parameters
from ..models.weights import weights_normalization
from .augment import FROM_WEIGHTS
from .data import DIGEST_BYTES, RunData, data_identity, row_digests, run_data
from .device import compiled, compiling
from .optim import Schedule, create_optimizer
from .spec import Machine, Protocol
from .views import Views

log = logging.getLogger(__name__)


def run_seed(*parts) -> int:
    """A 63-bit seed from the parts of a run's identity (seed, architecture, arm, run, stream name).

    Stable across processes and machines (blake2b, not Python's hash).
    """
    return int.from_bytes(hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest(), "big") >> 1


@dataclass
class EpochPosition:
    """Where an epoch was stopped: its order of the training rows, the next image and the sums so far.

    Saved in `last.pt` when a signal stops training mid-epoch, so that the
    resumed epoch continues from the very next batch with the same order and
    random streams: the run's numbers are those of an uninterrupted run.
    """

    epoch: int
    order: torch.Tensor  # the epoch's permutation of the training rows
    next_image: int  # how many images of `order` are done
    total_loss: torch.Tensor  # sum of per-image losses so far (0-d)
    correct: torch.Tensor  # hits so far (0-d)
    seconds: float  # training time spent in the epoch so far

    def to(self, device) -> EpochPosition:
        """The same position with its tensors on `device`."""
        return EpochPosition(self.epoch, self.order.to(device), self.next_image, self.total_loss.to(device),
                             self.correct.to(device), self.seconds)


class EpochInterrupted(Exception):
    """A stop request ended an epoch early; `position` says where."""

    def __init__(self, position: EpochPosition):
        super().__init__(f"epoch {position.epoch} stopped after {position.next_image} images")
        self.position = position


@dataclass
class BestEpoch:
    """The run's best epoch so far by test accuracy: its weights (on the device) and test predictions."""

    accuracy: float = -1.0
    epoch: int = 0
    state: dict | None = None
    predictions: pd.DataFrame | None = None

    def saved(self, state: dict | None) -> dict:
        """As `last.pt` holds it: a plain mapping, with `state` as given (on the CPU, or None)."""
        return {"accuracy": self.accuracy, "epoch": self.epoch, "state": state, "predictions": self.predictions}

    @classmethod
    def from_saved(cls, saved: Mapping) -> BestEpoch:
        """The best epoch a checkpoint holds (`saved`'s inverse)."""
        return cls(saved["accuracy"], saved["epoch"], saved["state"], saved["predictions"])


@dataclass
class Run:
    """One run in training: its spec, what was resolved for it, and its state on the device."""

    protocol: Protocol
    machine: Machine
    device: torch.device
    data: RunData
    views: Views  # the run's training and evaluation views, built once
    model: torch.nn.Module  # the network itself: its state_dict is what is saved
    forward: torch.nn.Module  # what the loop calls: the model, or its torch.compile'd wrapper
    optimizer: torch.optim.Optimizer
    generators: dict[str, torch.Generator]
    schedule: Schedule
    # training.normalization as the run applies it: `weights` resolved into {mean, std, source}
    normalization: str | Mapping
    # training.scale_jitter as the run applies it: with draw per_run, plus the run's `run_side` and `run_turns`
    scale_jitter: Mapping | None
    history: list[dict] = field(default_factory=list)  # one row of metrics per finished epoch
    best: BestEpoch = field(default_factory=BestEpoch)
    position: EpochPosition | None = None  # where the unfinished epoch stopped, when resumed mid-epoch
    finished: bool = False  # resumed from the record a finished run leaves (finish_checkpoint): nothing to train
    identity: dict | None = None  # data_identity of the run's rows: what its checkpoints are tied to
    diverged: dict | None = None  # {epoch, batch, loss} when a non-finite loss stopped the run

    @property
    def class_names(self) -> list[str]:
        """The class names in the order of the network's outputs."""
        return list(self.protocol.class_names)

    @property
    def arm(self) -> str:
        """`scratch`, or the source of the pretrained weights."""
        return "scratch" if self.protocol.weights == "none" else self.protocol.weights

    def settings(self) -> dict:
        """The protocol with the values resolved for this run: what last.pt and best.pt save as `settings`.

        Grad-CAM and the feature maps read a best.pt's back: its network (`architecture`, `n_classes`) and
        views (Views.from_settings).
        """
        return {**self.protocol.params(), "n_classes": self.protocol.n_classes, "normalization": self.normalization,
                "scale_jitter": self.scale_jitter}


def _identity_seed(protocol: Protocol) -> tuple:
    # Arms of one architecture with any pretrained weights draw alike (the seeds predate the zoobot source).
    return protocol.seed, protocol.architecture, protocol.weights != "none", protocol.run


def build_run(protocol: Protocol, machine: Machine, images: torch.Tensor, catalog: pd.DataFrame,
              weights_path: os.PathLike | None = None,
              shared: Run | None = None, digests: np.ndarray | None = None) -> Run:
    """The run's rows of the store, model, optimiser and random streams.

    The model starts from pretrained weights or the default init.

    Args:
        protocol: the run's protocol.
        machine: where and how it computes (compile, eval batch size, checkpoint interval).
        images: the whole array store on the device (data.load_store_digested).
        catalog: the store's catalog (id, class_index per row).
        weights_path: the pretrained weights file; None for a model trained from scratch.
        shared: the group's previous run, whose network and compiled wrapper are reused: this run's
            initialisation is copied into them, so nothing is built or compiled twice and the numbers are those
            of a solo run.
        digests: data.row_digests of every store row; None hashes the run's rows of `images` here. With them
            the run's `identity` (data.data_identity) ties its checkpoints to the data it reads.
    """
    device = images.device
    log.info("run %s: training (architecture=%s, weights=%s, device=%s)", protocol.run, protocol.architecture,
             "scratch" if protocol.weights == "none" else protocol.weights, device)
    data = run_data(images, catalog, protocol.split, protocol.run, protocol.train_fraction, protocol.budget_scaling)
    rows = {subset: chosen.cpu().numpy() for subset, chosen in data.rows.items()}
    if digests is None:
        digests = np.zeros((len(catalog), DIGEST_BYTES), dtype=np.uint8)
        used = np.unique(np.concatenate(list(rows.values())))
        digests[used] = row_digests(images[torch.as_tensor(used, device=images.device)].cpu().numpy())
    read = data_identity(catalog, rows, digests, protocol.class_names)
    identity = _identity_seed(protocol)
    torch.manual_seed(run_seed(*identity, "init"))
    initial = build_model(protocol.architecture, protocol.n_classes,
                          None if protocol.weights == "none" else weights_path, protocol.dropout)
    scale_jitter = None if protocol.scale_jitter is None else dict(protocol.scale_jitter)
    if scale_jitter is not None and scale_jitter.get("draw") == "per_run":
        # Zhu et al.'s code: one crop side and one number of quarter turns for the whole run, drawn from the
        # run's own seed (the same after a resume).
        draw = torch.Generator().manual_seed(run_seed(*identity, "per_run_view"))
        low, high = scale_jitter["sides"]
        side, turns = (int(torch.randint(low, high + 1, (1,), generator=draw)),
                       int(torch.randint(0, 4, (1,), generator=draw)))
        scale_jitter.update(run_side=side, run_turns=turns)
        log.info("run %s: one view for the whole run (side=%d, quarter_turns=%d)", protocol.run, side, turns)
    normalization = protocol.normalization
    if normalization == FROM_WEIGHTS:
        normalization = weights_normalization(initial, protocol.architecture, protocol.weights)
        log.info("run %s: normalisation from the weights (mean=%s, std=%s, source=%s)", protocol.run,
                 normalization["mean"], normalization["std"], normalization["source"])
    if shared is None:
        frozen = freeze_layers(initial, protocol.architecture, protocol.frozen_share)
        if frozen:
            log.info("run %s: layers frozen at their pretrained weights (count=%d, first=%s, last=%s)", protocol.run,
                     len(frozen), frozen[0], frozen[-1])
        model = initial.to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        forward = compiled(model, machine, device)
    else:
        model, forward = shared.model, shared.forward
        model.load_state_dict(initial.state_dict())
    # Only the trainable parameters: frozen ones get no gradient, no optimiser state and no weight decay.
    optimizer = create_optimizer(trainable_parameters(model), protocol.optimizer, device)
    schedule = Schedule(optimizer, protocol.lr_schedule, protocol.max_iterations)
    generators = {}
    for name in ("train", "evaluate"):
        generators[name] = torch.Generator(device=device)
        generators[name].manual_seed(run_seed(*identity, name))
    views = Views.from_settings({**protocol.params(), "normalization": normalization, "scale_jitter": scale_jitter},
                                compiling(machine, device))
    return Run(protocol, machine, device, data, views, model, forward, optimizer, generators, schedule,
               normalization, scale_jitter, identity=read)
