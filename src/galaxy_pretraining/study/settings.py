"""A training job's settings from the resolved config: its Protocol, and the TrainSettings the jobs still read.

train_settings, protocol_settings and job_settings are the road the training
rule takes today (params from protocol_settings, rebuilt at job time by
job_settings); `protocol` is the run spec that replaces them (training/spec.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields

from ..training.settings import TrainSettings
from ..training.spec import Machine, Protocol
from .jobs import TrainingJob

# The fields of config key `training` that say where and how a job computes (Machine), never its numbers.
MACHINE_KEYS = tuple(f.name for f in fields(Machine) if f.name != "threads")


def split_settings(config: Mapping) -> dict:
    """What draws a run's split: the splits block without the list of runs and of label budgets."""
    return {k: v for k, v in config["splits"].items() if k not in ("runs", "train_fractions")}


def protocol(config: Mapping, job: TrainingJob) -> Protocol:
    """The run spec of one job: the job's fields, its model's, the classes, the split and config key `training`."""
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


def train_settings(config: Mapping, job: TrainingJob) -> TrainSettings:
    """The settings of one training job: the job's fields plus config key `training`, field for field."""
    spec = config["models"][job.model]
    return TrainSettings(
        architecture=spec["architecture"],
        weights=spec["weights"],
        epochs=int(job.epochs),
        frozen_share=float(spec["frozen_share"]),
        dropout=None if spec["dropout"] is None else float(spec["dropout"]),
        n_classes=len(config["classes"]),
        run=int(job.run),
        train_fraction=float(job.fraction),
        split=split_settings(config),
        **config["training"],
    )


def protocol_settings(settings: TrainSettings) -> dict:
    """The fields of `settings` that can change a run's numbers: what the training rule states as params.

    Snakemake reruns a finished job when its params change. The other fields
    (TrainSettings.NOT_IN_FINGERPRINT: checkpoint_every, device, eval_batch_size,
    compile) change only where, how fast or how often a run computes and saves,
    so they are left out and a training job reads them when it starts
    (`job_settings`): changing them reruns nothing that is finished.
    """
    return {k: v for k, v in asdict(settings).items() if k not in TrainSettings.NOT_IN_FINGERPRINT}


def job_settings(protocols: list[Mapping], config: Mapping) -> list[TrainSettings]:
    """The TrainSettings of a training job's runs: each run's protocol (from the rule's params) plus the machine
    fields (TrainSettings.NOT_IN_FINGERPRINT) from the config the job runs under (config key `training`)."""
    machine = {k: config["training"][k] for k in TrainSettings.NOT_IN_FINGERPRINT}
    return [TrainSettings(**protocol, **machine) for protocol in protocols]
