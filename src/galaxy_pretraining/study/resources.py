"""What a job asks the scheduler for.

Training jobs ask what config key train_resources says; the summary steps ask fixed amounts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


def train_runtime_minutes(block: Mapping, epochs: int, attempt: int = 1) -> int:
    """Scheduler time limit of a training job's `attempt`.

    It is (overhead + time per epoch x epochs, rounded up) x attempt.

    Every retry asks for more: an attempt that follows a time-limit stop resumes
    from last.pt, and one given the same limit as the one before would be stopped
    again where the GPU is slower than minutes_per_epoch says.

    Args:
        block: the config's train_resources block.
        epochs: the epochs of all the job's runs together.
        attempt: Snakemake's attempt number, 1 for the first.
    """
    return int(block["minutes_overhead"] + block["minutes_per_epoch"] * epochs + 0.999) * attempt


def train_runtime(block: Mapping, epochs: int) -> Callable[..., int]:
    """The `runtime` resource of a training job of `epochs` epochs.

    Snakemake calls it with each attempt's number.
    """

    def runtime(wildcards, attempt: int) -> int:
        return train_runtime_minutes(block, epochs, attempt)

    return runtime


def stated_memory(mem_mb: int) -> dict[str, int | None]:
    """Resources that give a job `mem_mb` MB whatever the profile's default-resources say.

    snakemake-executor-plugin-slurm submits `--mem-per-cpu` whenever a job has
    `mem_mb_per_cpu`, even one from the profile's defaults, and then ignores the
    rule's `mem_mb`; None removes the profile's value, so the rule's `--mem` goes out.
    """
    return {"mem_mb": mem_mb, "mem_mb_per_cpu": None}


def train_job_resources(block: Mapping) -> dict[str, int | str | None]:
    """What every training job asks the scheduler for, whatever its rule is called.

    From config key train_resources.

    Returns Snakemake resources: `gpu` (count; also the limit the local profile
    sets, one training job per GPU), `cpus_per_task` (the job's threads),
    the job's memory (`stated_memory`), and `slurm_partition`, `gpu_model` and
    `slurm_extra` (further sbatch options) where set. They are stated on the
    training rule itself because a profile's `set-resources` selects rules by
    name, and every group of runs is a rule of its own; a rule's own resources
    take precedence over the profile's default-resources.
    """
    resources = {"gpu": block["gpu"], "cpus_per_task": block["threads"], **stated_memory(block["mem_mb"])}
    for key in ("slurm_partition", "gpu_model", "slurm_extra"):
        if block[key] is not None:
            resources[key] = block[key]
    return resources


def summary_step(runtime: int, mem_mb: int) -> dict[str, int | None]:
    """What one table or figure step of group `summary` asks for: one CPU, `mem_mb` MB, `runtime` minutes.

    On a cluster the steps of group `summary` go out as one job, whose request
    Snakemake adds up from its steps: the time of each layer of steps that run
    side by side, and the CPUs and memory of the widest layer. The profile's
    default-resources (an hour and 8 GB a step) would add up to hours and tens
    of GB for steps that take seconds, so each step states its own small share.
    """
    return {"cpus_per_task": 1, "runtime": runtime, **stated_memory(mem_mb)}


# A table, a figure, or gathering the runs' metrics: seconds each, a little memory.
SUMMARY_STEP = summary_step(runtime=5, mem_mb=2000)
# Grad-CAM and the feature maps: a network built and run on a few galaxies on the CPU.
MODEL_FIGURE_STEP = summary_step(runtime=15, mem_mb=4000)


def prediction_job_resources(block: Mapping, train_block: Mapping) -> dict[str, int | str | None]:
    """What a prediction set's job asks the scheduler for (config: predict.<set>.resources).

    Its GPUs, CPUs, memory (`stated_memory`) and time limit (minutes), on the
    training jobs' partition and GPU model (train_resources) where those are set.
    """
    resources = {"gpu": block["gpu"], "cpus_per_task": block["threads"], **stated_memory(block["mem_mb"]),
                 "runtime": block["runtime"]}
    for key in ("slurm_partition", "gpu_model"):
        if train_block[key] is not None:
            resources[key] = train_block[key]
    return resources
