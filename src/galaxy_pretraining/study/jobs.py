"""The training jobs of a study, one (model, run, label budget, length) each.

Also the groups of jobs one rule trains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingJob:
    """One run of one model: a training run with its own folder, metrics and best-epoch predictions."""

    model: str
    run: int
    epochs: int
    long: bool  # one of the long_runs repeats
    fraction: float  # the label budget: share of the run's training set it trains on

    @property
    def variant(self) -> str:
        """What follows run<NNN> in its folder: -f<fraction> below all the labels, -e<epochs> for a long run."""
        return (f"-f{self.fraction:g}" if self.fraction < 1 else "") + (f"-e{self.epochs}" if self.long else "")

    @property
    def folder(self) -> str:
        """runs/<model>/run<NNN>, run<NNN>-f<fraction> on a label budget, run<NNN>-e<epochs> for the long runs."""
        return f"runs/{self.model}/run{self.run:03d}{self.variant}"

    @property
    def name(self) -> str:
        """`<model>/run<NNN>[-f<fraction>][-e<epochs>]`: how the rules and the tables' inputs name the job."""
        return self.folder.removeprefix("runs/")


@dataclass(frozen=True)
class TrainingGroup:
    """Runs of one model (all standard or all long) that one job trains one after the other."""

    jobs: tuple[TrainingJob, ...]

    @property
    def model(self) -> str:
        """The model all its runs train."""
        return self.jobs[0].model

    @property
    def name(self) -> str:
        """The group's log name: `<model>/run<first>-<last>[-f<fraction>][-e<epochs>]`.

        A group of one run is `<model>/run<NNN>...`.
        """
        first, last = self.jobs[0], self.jobs[-1]
        runs = f"run{first.run:03d}" if len(self.jobs) == 1 else f"run{first.run:03d}-{last.run:03d}"
        return f"{first.model}/{runs}{first.variant}"

    @property
    def rule_name(self) -> str:
        """train_<name> with every character that is not a letter, digit or _ made _: a Snakemake rule name."""
        return "train_" + re.sub(r"\W", "_", self.name)

    @property
    def epochs(self) -> int:
        """Epochs of all its runs together (its scheduler time limit grows with them)."""
        return sum(job.epochs for job in self.jobs)


def group_jobs(jobs: Iterable[TrainingJob], size: int) -> list[TrainingGroup]:
    """Cut `jobs` into groups of at most `size` consecutive runs of one model and variant.

    `size` is train_resources.runs_per_job.
    """
    groups, current = [], []
    for job in jobs:
        if current and (len(current) == size or (job.model, job.variant) != (current[0].model, current[0].variant)):
            groups.append(TrainingGroup(tuple(current)))
            current = []
        current.append(job)
    if current:
        groups.append(TrainingGroup(tuple(current)))
    return groups
