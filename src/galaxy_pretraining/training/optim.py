"""A run's optimiser and learning-rate schedule.

A small registry of optimisers by name, as timm's create_optimizer.

Each factory takes the parameters to train and config key `training.optimizer`
(`lr`, `weight_decay`, and for SGD `momentum` and `nesterov`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import torch

SCHEDULE_UNITS = ("iterations", "epochs")  # training.lr_schedule.unit: what the milestones count

OptimizerFactory = Callable[..., torch.optim.Optimizer]

OPTIMIZERS: dict[str, OptimizerFactory] = {
    "sgd": lambda params, o, **extra: torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"],
                                                      weight_decay=o["weight_decay"], nesterov=o["nesterov"], **extra),
    "adam": lambda params, o, **extra: torch.optim.Adam(params, lr=o["lr"], weight_decay=o["weight_decay"], **extra),
    "adamw": lambda params, o, **extra: torch.optim.AdamW(params, lr=o["lr"], weight_decay=o["weight_decay"], **extra),
}


def create_optimizer(params: Iterable[torch.nn.Parameter], optimizer: Mapping, device: torch.device) -> torch.optim.Optimizer:
    """The optimiser `training.optimizer` names, over `params`.

    Args:
        params: the parameters to train (frozen ones left out: no gradient, no state, no weight decay).
        optimizer: config key `training.optimizer`: `name` (a key of OPTIMIZERS) and its hyperparameters.
        device: on CUDA the update is fused (one kernel for the whole update; the same arithmetic).
    """
    fused = {"fused": True} if device.type == "cuda" else {}
    return OPTIMIZERS[optimizer["name"]](params, optimizer, **fused)


class Schedule:
    """The learning-rate steps and the iteration limit of a run.

    From training.lr_schedule and training.max_iterations.

    Counts the optimiser steps taken; a step decay (torch's MultiStepLR) moves
    after every step or every epoch as its `unit` says. Its state goes into
    last.pt, so a resumed run continues at the same rate and count.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, lr_schedule: Mapping | None, max_iterations: int | None):
        self.unit = None if lr_schedule is None else lr_schedule["unit"]
        self.scheduler = (None if lr_schedule is None else
                          torch.optim.lr_scheduler.MultiStepLR(optimizer, sorted(lr_schedule["milestones"]),
                                                               lr_schedule["gamma"]))
        self.max_iterations = max_iterations
        self.iterations = 0

    @property
    def done(self) -> bool:
        """Whether the run has taken its max_iterations steps."""
        return self.max_iterations is not None and self.iterations >= self.max_iterations

    def after_step(self) -> None:
        """Count an optimiser step; a decay by iterations moves."""
        self.iterations += 1
        if self.unit == "iterations":
            self.scheduler.step()

    def after_epoch(self) -> None:
        """A decay by epochs moves."""
        if self.unit == "epochs":
            self.scheduler.step()

    def state_dict(self) -> dict:
        """The step count and the decay's state, for last.pt."""
        return {"iterations": self.iterations,
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict saved."""
        self.iterations = state["iterations"]
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])

