"""A training job's run spec from the resolved config: its Protocol (training/spec.py).

The protocol is the training rule's params and its checkpoint's fingerprint;
the job reads the Machine from the config when it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

from ..training.spec import Machine, Protocol
from .jobs import TrainingJob

# The fields of config key `training` that say where and how a job computes (Machine), never its numbers.
MACHINE_KEYS = tuple(f.name for f in fields(Machine) if f.name not in ("threads", "tensorboard", "compile_cache"))


def split_settings(config: Mapping) -> dict:
    """What draws a run's split: the splits block without the list of runs and of label budgets."""
    return {k: v for k, v in config["splits"].items() if k not in ("runs", "train_fractions")}


def protocol(config: Mapping, job: TrainingJob) -> Protocol:
    """The run spec of one job.

    From the job's fields, its model's, the classes, the split and config key `training`.
    """
    spec = config["models"][job.model]
    return Protocol(
        architecture=spec["architecture"],
        weights=spec["weights"],
        epochs=int(job.epochs),
        frozen_share=float(spec["frozen_share"]),
        dropout=None if spec["dropout"] is None else float(spec["dropout"]),
        class_names=tuple(config["classes"]),
        run=int(job.run),
        train_fraction=float(job.fraction),
        split=split_settings(config),
        **{k: v for k, v in config["training"].items() if k not in MACHINE_KEYS},
    )
