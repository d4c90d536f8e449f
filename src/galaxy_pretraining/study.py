"""The study a config describes: its runs, training jobs, tables, figures, paths and settings.

The Snakemake rules ask these functions (through workflow/rules/common.smk)
for every target list and parameter, so the wiring holds no logic and the
logic is unit-tested here. Parse-time only: this module and everything it
imports stay clear of torch and matplotlib (tests/unit/test_study.py checks), since
every `snakemake` call and, on a cluster, every job parses the workflow.
All functions take a resolved config (config.resolve_config).
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from .analysis.curves import gain_budgets
from .config import ConfigError, resolve_config, schema_defaults
from .data.kinds import check_data, data_kind
from .figures import FIGURES, check_options
from .models.registry import ARCHITECTURES, is_timm, sha256_record, timm_has, timm_model_name, weights_file_name
from .models.timm_models import TIMM_MODELS, TIMM_VERSION
from .papers import fu, schneider2023, zhu2019
from .predict import sets as prediction_sets
from .tables import TABLES
from .training.settings import TrainSettings

__all__ = ["ConfigError", "resolve"]


def resolve(config: dict) -> dict:
    """Validate the config against the schema, fill in its defaults (in place), then check what the schema cannot.

    A `protocol_source` (Zhu et al.'s paper or code) first puts its settings in place (apply_protocol_source)."""
    apply_protocol_source(config)
    resolve_config(config)
    check_config(config)
    return config


def effective_config(config: Mapping) -> dict:
    """What a raw config means: a resolved copy (resolve) in which the defaults computed from other keys are
    filled in too: analysis.example_run (null: the last run), and gradcam.run and feature_maps.run (null: the
    example run) where those figures are on. Raises ConfigError as resolve does."""
    resolved = resolve(copy.deepcopy(dict(config)))
    resolved["analysis"]["example_run"] = example_run(resolved)
    for key in MODEL_FIGURE_MODULES:
        if resolved.get(key):
            resolved[key]["run"] = model_figure_run(resolved, key)
    return resolved


def apply_protocol_source(config: dict) -> None:
    """Put in place, in the unresolved config, the settings of `protocol_source` (paper or code): Zhu et al.
    (2019)'s paper and their public code disagree on them (papers.zhu2019.PROTOCOL_SOURCES); the dropout goes to
    every model whose architecture takes one. A key the config sets itself to another value is a ConfigError
    naming it; null (the default) changes nothing."""
    source = config.get("protocol_source")
    if source is None:
        return
    if source not in zhu2019.PROTOCOL_SOURCES:
        raise ConfigError(f"protocol_source: {source!r} is not one of {sorted(zhu2019.PROTOCOL_SOURCES)} or null")
    settings = dict(zhu2019.PROTOCOL_SOURCES[source])
    dropout = settings.pop(("dropout",))
    paths = list(settings.items())
    for model, spec in (config.get("models") or {}).items():
        if isinstance(spec, dict) and spec.get("architecture") in ARCHITECTURES and \
                ARCHITECTURES[spec["architecture"]].dropout_option:
            paths.append((("models", model, "dropout"), dropout))
    for path, value in paths:
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            if path[-1] in node and node[path[-1]] != value:
                raise ConfigError(f"{'.'.join(path)}: {node[path[-1]]!r} in the config, but protocol_source: {source} "
                                  f"sets {value!r}; remove the key, or set protocol_source: null")
            node[path[-1]] = copy.deepcopy(value)


def results_folder(config: Mapping) -> str:
    return f"results/{config['study']}"


@dataclass(frozen=True)
class TrainingJob:
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


def run_numbers(config: Mapping) -> list[int]:
    runs = config["splits"]["runs"]
    return list(range(runs)) if isinstance(runs, int) else sorted(runs)


def long_run_numbers(config: Mapping) -> list[int]:
    return sorted(config["long_runs"]["runs"])


def split_runs(config: Mapping) -> list[int]:
    """Every run that needs a split: the standard runs and the long ones."""
    return sorted(set(run_numbers(config)) | set(long_run_numbers(config)))


def train_fractions(config: Mapping) -> list[float]:
    """The label budgets, largest (1.0: all the labels) first."""
    return sorted((float(f) for f in config["splits"]["train_fractions"]), reverse=True)


def training_jobs(config: Mapping) -> list[TrainingJob]:
    """Every (model, run) on all the labels, then on each smaller label budget, then the long runs."""
    jobs = []
    for model, spec in config["models"].items():
        for fraction in train_fractions(config):
            jobs += [TrainingJob(model, run, spec["epochs"], False, fraction) for run in run_numbers(config)]
        jobs += [TrainingJob(model, run, config["long_runs"]["epochs"], True, 1.0) for run in long_run_numbers(config)]
    return jobs


def full_label_jobs(config: Mapping) -> list[TrainingJob]:
    """The jobs on all the labels (standard and long): what the paper's tables and figures read."""
    return [job for job in training_jobs(config) if job.fraction == 1.0]


def standard_full_label_jobs(config: Mapping) -> list[TrainingJob]:
    """The standard runs on all the labels (no long runs): whose best-epoch predictions the ROC tables read."""
    return [job for job in training_jobs(config) if job.fraction == 1.0 and not job.long]


def label_budget_jobs(config: Mapping) -> list[TrainingJob]:
    """The standard runs at every label budget (1.0 included): what the label-budget tables read."""
    return [job for job in training_jobs(config) if not job.long]


@dataclass(frozen=True)
class TrainingGroup:
    """Runs of one model (all standard or all long) that one job trains one after the other."""

    jobs: tuple[TrainingJob, ...]

    @property
    def model(self) -> str:
        return self.jobs[0].model

    @property
    def name(self) -> str:
        """`<model>/run<first>-<last>[-f<fraction>][-e<epochs>]` (one run: `<model>/run<NNN>...`): its log's name."""
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


def training_groups(config: Mapping) -> list[TrainingGroup]:
    """The training jobs cut into groups of train_resources.runs_per_job consecutive runs of one model and length.

    Each group is one Snakemake rule (train_<model>_run<first>_<last>, or train_<model>_run<NNN> for one run), so
    that each lists exactly its runs' outputs: a run's best.pt only where it is kept (`keeps_best_weights`).
    """
    size = config["train_resources"]["runs_per_job"]
    groups, current = [], []
    for job in training_jobs(config):
        if current and (len(current) == size or (job.model, job.variant) != (current[0].model, current[0].variant)):
            groups.append(TrainingGroup(tuple(current)))
            current = []
        current.append(job)
    if current:
        groups.append(TrainingGroup(tuple(current)))
    return groups


def keeps_best_weights(config: Mapping, job: TrainingJob) -> bool:
    """Whether a run's best weights are kept as best.pt (config: best_weights, and the runs `predict` sets use).

    `all` keeps every run's; `figures` (the default) only those the Grad-CAM and
    feature-map figures draw: each model's standard run `<key>.run` (or the
    example run) on all the labels, when that figure is configured. Other runs
    keep their metrics and best-epoch predictions only: AlexNet's best weights
    are 0.24 GB, 50 GB over the paper's 210 runs.
    """
    if config["best_weights"] == "all":
        return True
    if job.long or job.fraction < 1:
        return False
    if (job.model, job.run) in prediction_sets.kept_runs(config):  # a prediction set reads them (config predict)
        return True
    return any(config[key] is not None and job.run == model_figure_run(config, key) for key in MODEL_FIGURE_MODULES)


def group_outputs(config: Mapping, group: TrainingGroup) -> dict[str, list[str]]:
    """A training rule's outputs: every run's metrics and predictions, and best.pt of the runs that keep it."""
    results = results_folder(config)
    outputs = {"metrics": [f"{results}/{job.folder}/metrics.parquet" for job in group.jobs],
               "predictions": [f"{results}/{job.folder}/predictions.parquet" for job in group.jobs]}
    kept = [f"{results}/{job.folder}/best.pt" for job in group.jobs if keeps_best_weights(config, job)]
    if kept:
        outputs["best_model"] = kept
    return outputs


def weights_file(config: Mapping, model: str) -> str | None:
    """resources/weights/<file> of a pretrained model; None for a model trained from scratch."""
    spec = config["models"][model]
    if spec["weights"] == "none":
        return None
    return f"resources/weights/{weights_file_name(spec['architecture'], spec['weights'])}"


def weights_inputs(config: Mapping, model: str) -> list[str]:
    """What a model's training job reads of its weights: the file and, for a hub file, the sha256 stated for it
    (architectures.sha256_record); nothing for a model trained from scratch."""
    path = weights_file(config, model)
    if path is None:
        return []
    return [path, sha256_record(path)] if is_timm(config["models"][model]["architecture"]) else [path]


def architecture_of_weights_file(config: Mapping, file_name: str) -> list[str]:
    """[architecture, weights source] of the configured model whose weights file is `file_name`."""
    for spec in config["models"].values():
        if spec["weights"] != "none" and weights_file_name(spec["architecture"], spec["weights"]) == file_name:
            return [spec["architecture"], spec["weights"]]
    raise ConfigError(f"no configured model uses the weights file {file_name}")


def split_settings(config: Mapping) -> dict:
    """What draws a run's split: the splits block without the list of runs and of label budgets."""
    return {k: v for k, v in config["splits"].items() if k not in ("runs", "train_fractions")}


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


def listed_catalog_path(config: Mapping) -> str:
    """The catalog as the data kind lists the sample, before the array store's image checks (which write
    catalog.parquet: the rows they keep)."""
    return f"{results_folder(config)}/catalog_listed.parquet"


def image_digest_path(config: Mapping) -> str:
    """The file that stands for the study's image files as an input of the array store (see refresh_image_digest)."""
    return f"{results_folder(config)}/image_digest.txt"


def image_digest(catalog_path: os.PathLike) -> str:
    """One line naming the state of every image file of a catalog: count and sha256 of (path, size, mtime_ns).

    Reads the catalog's `image_path` column (an HDF5 member, `<file>#<dataset>/<row>`, counts as its file); a
    missing file counts as size -1. One stat per image: 0.05 s for 6,664 files measured on a local disk, so
    about 0.2 s for 28,790.
    """
    import hashlib

    import pyarrow.parquet as pq

    paths = dict.fromkeys(str(p).split("#")[0] for p in pq.read_table(catalog_path, columns=["image_path"]).column(0)
                          .to_pylist())
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except FileNotFoundError:
            digest.update(f"{path}\0-1\n".encode())
    return f"{len(paths)} image files, sha256 of path, size and mtime_ns: {digest.hexdigest()}\n"


def write_image_digest(catalog_path: os.PathLike, target: os.PathLike, digest: str | None = None) -> None:
    """Write `digest` (default: `image_digest(catalog_path)`) to `target`, the catalog rule's second output, under a
    temporary name."""
    from .io import atomic_path

    with atomic_path(target) as tmp:
        tmp.write_text(digest if digest is not None else image_digest(catalog_path))


def refresh_image_digest(config: Mapping, paths: tuple[str, str] | None = None) -> bool:
    """Rewrite the image digest when an image file changed since it was written; True if it did.

    The digest file (an output of the catalog rule, an input of the array
    store) is a few bytes, so Snakemake records its checksum: rewritten with
    other content, it rebuilds the store and what depends on it; unchanged, it
    rebuilds nothing. The workflow calls this when it starts (in its main
    process, not in each cluster job), so a re-downloaded or corrected image
    is seen, by a dry run too, without 28,790 inputs in the DAG. Does nothing
    before the catalog exists; a catalog made before the digest existed gets
    one (its study's runs are kept with one `snakemake --touch`, see
    docs/training.md). `paths`: (digest, listed catalog) of another store, a prediction set's.
    """
    target, catalog = map(Path, paths or (image_digest_path(config), listed_catalog_path(config)))
    if not catalog.exists():
        return False
    digest = image_digest(catalog)
    if target.exists() and target.read_text() == digest:
        return False
    write_image_digest(catalog, target, digest)
    print(f"image files changed since {target} was written: the array store will be rebuilt", flush=True)
    return True


def train_runtime_minutes(config: Mapping, epochs: int, attempt: int = 1) -> int:
    """Scheduler time limit of a training job's `attempt`: (overhead + time per epoch x epochs, rounded up) x attempt.

    Every retry asks for more: an attempt that follows a time-limit stop resumes
    from last.pt, and one given the same limit as the one before would be stopped
    again where the GPU is slower than minutes_per_epoch says.
    """
    resources = config["train_resources"]
    return int(resources["minutes_overhead"] + resources["minutes_per_epoch"] * epochs + 0.999) * attempt


def train_runtime(config: Mapping, epochs: int) -> Callable[..., int]:
    """The `runtime` resource of a training job of `epochs` epochs: Snakemake calls it with each attempt's number."""

    def runtime(wildcards, attempt: int) -> int:
        return train_runtime_minutes(config, epochs, attempt)

    return runtime


def stated_memory(mem_mb: int) -> dict[str, int | None]:
    """Resources that give a job `mem_mb` MB whatever the profile's default-resources say.

    snakemake-executor-plugin-slurm submits `--mem-per-cpu` whenever a job has
    `mem_mb_per_cpu`, even one from the profile's defaults, and then ignores the
    rule's `mem_mb`; None removes the profile's value, so the rule's `--mem` goes out.
    """
    return {"mem_mb": mem_mb, "mem_mb_per_cpu": None}


def train_job_resources(config: Mapping) -> dict[str, int | str | None]:
    """What every training job asks the scheduler for, whatever its rule is called (config: train_resources).

    Returns Snakemake resources: `gpu` (count; also the limit the local profile
    sets, one training job per GPU), `cpus_per_task` (the job's threads),
    the job's memory (`stated_memory`), and `slurm_partition`, `gpu_model` and
    `slurm_extra` (further sbatch options) where set.
    They are stated on the training rule itself because a profile's
    `set-resources` selects rules by name, and with runs_per_job > 1 every group
    of runs is a rule of its own (train_<model>_runNNN_MMM); a rule's own
    resources take precedence over the profile's default-resources.
    """
    block = config["train_resources"]
    resources = {"gpu": block["gpu"], "cpus_per_task": block["threads"], **stated_memory(block["mem_mb"])}
    for key in ("slurm_partition", "gpu_model", "slurm_extra"):
        if block[key] is not None:
            resources[key] = block[key]
    return resources


def analysis_budgets(config: Mapping) -> list[int]:
    """Budgets to read off the curves: the configured ones plus every model's epochs (for equal-budget tests)."""
    return sorted(set(config["analysis"]["budgets"]) | {spec["epochs"] for spec in config["models"].values()})


def model_pairs(config: Mapping) -> list[list[str]]:
    """[pretrained, scratch] model pairs: the same architecture with pretrained weights (ImageNet or Zoobot's)
    and without."""
    pairs = []
    for pretrained, spec in config["models"].items():
        if spec["weights"] == "none":
            continue
        for scratch, other in config["models"].items():
            if other["weights"] == "none" and other["architecture"] == spec["architecture"]:
                pairs.append([pretrained, scratch])
    return pairs


def example_run(config: Mapping) -> int:
    """The run drawn in the single-run figures: analysis.example_run, or the last run."""
    chosen = config["analysis"].get("example_run")
    return int(chosen) if chosen is not None else run_numbers(config)[-1]


def _check_architectures(config: Mapping) -> list[str]:
    """Each model's architecture is a registry entry or timm/<name>. Whether timm has that name is checked by
    the first job that builds the model (the weights fetch or the training): timm imports torch, which parsing
    the workflow does not (see docs/label-budgets.md, "Zoobot")."""
    problems = []
    for model, spec in config["models"].items():
        name = spec["architecture"]
        if is_timm(name):
            if not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?", timm_model_name(name)):
                problems.append(f"models.{model}.architecture: {name!r} is not timm/<a timm model name>, "
                                "e.g. timm/convnext_nano")
            elif not timm_has(name):
                close = difflib.get_close_matches(timm_model_name(name).split(".")[0], TIMM_MODELS, n=3)
                problems.append(f"models.{model}.architecture: {name!r} is not a model of timm {TIMM_VERSION}"
                                + (f"; close: {', '.join('timm/' + c for c in close)}" if close else "")
                                + " (timm.list_models() lists them all)")
        elif name not in ARCHITECTURES:
            close = difflib.get_close_matches(name, ARCHITECTURES, n=1)
            problems.append(f"models.{model}.architecture: unknown architecture {name!r}"
                            + (f" (did you mean {close[0]!r}?)" if close else "")
                            + f"; choose one of {sorted(ARCHITECTURES)}, or timm/<model> for any timm model")
    return problems


def _check_crop(config: Mapping) -> list[str]:
    """training.crop_size against what each model's network takes (models/registry.py): its smallest input, the
    one side a vision transformer takes, and with gradcam on, the side whose Grad-CAM map is 2x2 or more. A timm
    model's sides are checked by the job that builds it (timm imports torch)."""
    crop, problems = config["training"]["crop_size"], []
    for model, spec in config["models"].items():
        entry = ARCHITECTURES.get(spec["architecture"])
        if entry is None:
            continue
        if entry.only_input is not None and crop != entry.only_input:
            problems.append(f"training.crop_size: {crop} px, but models.{model} is a {spec['architecture']}, "
                            f"which takes {entry.only_input} px crops only")
        elif entry.smallest_input is not None and crop < entry.smallest_input:
            problems.append(f"training.crop_size: {crop} px is too small for models.{model} "
                            f"({spec['architecture']} runs on {entry.smallest_input} px or more)")
        elif (config["gradcam"] is not None and entry.gradcam_smallest_input is not None
              and crop < entry.gradcam_smallest_input):
            problems.append(f"training.crop_size: {crop} px is too small for the Grad-CAM of models.{model} "
                            f"({spec['architecture']}'s layer {entry.gradcam_layer} is a single pixel below "
                            f"{entry.gradcam_smallest_input} px); use {entry.gradcam_smallest_input} px or more, "
                            "or set gradcam: null")
    return problems


def _check_budgets(config: Mapping) -> list[str]:
    """Budgets the config sets that no run can read: analysis.budgets longer than every run (checked when they
    differ from the schema's default; the default's long budgets are left out, as the captions say), and
    figures.budget_gains.budgets not read off the curves or not shorter than any model's epochs."""
    problems = []
    epochs = sorted({spec["epochs"] for spec in config["models"].values()})
    longest = max(epochs + ([config["long_runs"]["epochs"]] if long_run_numbers(config) else []))
    chosen = config["analysis"]["budgets"]
    if chosen != schema_defaults("analysis")["budgets"]:
        beyond = [b for b in chosen if b > longest]
        if beyond:
            problems.append(f"analysis.budgets: {beyond} are longer than any run trains ({longest} epochs at most); "
                            "a budget is read off a run's first epochs")
    compared = config["figures"].get("budget_gains", {}).get("budgets")
    for budget in compared or ():
        if budget >= epochs[-1]:
            problems.append(f"figures.budget_gains.budgets: {budget} is not shorter than any model's epochs "
                            f"({', '.join(map(str, epochs))}): no model gains anything over it")
        elif budget not in analysis_budgets(config):
            problems.append(f"figures.budget_gains.budgets: {budget} is not read off the curves; add it to "
                            f"analysis.budgets ({chosen})")
    return problems


def _check_training(config: Mapping) -> list[str]:
    """The training block's keys against each other and the store's image_size."""
    training, size = config["training"], config["image_size"]
    crop, views = training["crop_size"], training["scale_jitter"]
    problems = []
    if views is None:
        if crop > size:
            problems.append(f"training.crop_size ({crop}) is larger than image_size ({size})")
        if training["rotation"] == "quarter_turns" or training["colour_jitter"] is not None:
            problems.append("training.rotation: quarter_turns and training.colour_jitter belong to Zhu et al.'s "
                            "views; set training.scale_jitter too")
    else:
        low, high = views["sides"]
        if not 0 < low <= high <= size:
            problems.append(f"training.scale_jitter.sides: {views['sides']} must be [smallest, largest] with the "
                            f"largest at most image_size ({size})")
        if max(views["test_sides"]) > size:
            problems.append(f"training.scale_jitter.test_sides: {views['test_sides']} reach beyond image_size ({size})")
        if views["test_side"] not in views["test_sides"]:
            problems.append(f"training.scale_jitter.test_side: {views['test_side']} is not one of test_sides "
                            f"{views['test_sides']}")
        if crop > views["resize"]:
            problems.append(f"training.crop_size ({crop}) is larger than training.scale_jitter.resize "
                            f"({views['resize']})")
        if training["evaluation"] != "center":
            problems.append("training.evaluation: scale_jitter tests at the centre views of its test_sides; "
                            "set evaluation: center")
        if training["rotation"] not in ("quarter_turns", 0):
            problems.append(f"training.rotation: with scale_jitter, quarter_turns or 0, not {training['rotation']}")
    optimizer = training["optimizer"]
    if optimizer["nesterov"] and (optimizer["name"] != "sgd" or optimizer["momentum"] <= 0):
        problems.append("training.optimizer.nesterov: Nesterov momentum needs name: sgd and momentum > 0")
    schedule = training["lr_schedule"]
    if schedule is not None and schedule["milestones"] != sorted(schedule["milestones"]):
        problems.append(f"training.lr_schedule.milestones: {schedule['milestones']} are not in ascending order")
    return problems


def _check_epochs(config: Mapping) -> list[str]:
    """Settings counted in epochs that no run reaches: lr_schedule milestones (unit: epochs) at or past the longest
    run (the rate would never drop), and long runs no longer than a model's standard runs."""
    problems = []
    epochs = {model: spec["epochs"] for model, spec in config["models"].items()}
    long = config["long_runs"]["epochs"] if long_run_numbers(config) else None
    longest = max([*epochs.values(), long or 0])
    schedule = config["training"]["lr_schedule"]
    if schedule is not None and schedule["unit"] == "epochs":
        never = [m for m in schedule["milestones"] if m >= longest]
        if never:
            problems.append(f"training.lr_schedule.milestones: {never} (epochs) are not before the last epoch of any "
                            f"run ({longest} at most): the rate would never drop there")
    if long is not None:
        short = [model for model, e in epochs.items() if e >= long]
        if short:
            problems.append(f"long_runs.epochs: {long}, but {', '.join(f'models.{m}' for m in short)} already train "
                            f"{max(epochs[m] for m in short)} epochs; long runs train past the models' epochs")
    return problems


# What a study needs for the tables made only in some studies (TableStep.when), as a user sets it.
_NEEDS = {"pairs": "a model with pretrained weights and one from scratch of the same architecture",
          "long_runs": "long_runs.runs", "frozen_shares": "a model with frozen_share above 0",
          "label_budgets": "splits.train_fractions below 1.0",
          "label_budget_pairs": "splits.train_fractions below 1.0 and a pretrained and a scratch model of one "
                                "architecture",
          "test_sides": "training.scale_jitter", "zhu2019": "Zhu et al.'s protocol",
          "zhu2019_ours": "Zhu et al.'s protocol"}


def _check_figure_drawn(config: Mapping, name: str) -> list[str]:
    """Options for a figure this study does not draw (they would be ignored without a word)."""
    if name in figure_names(config):
        return []
    needs = sorted({_NEEDS[TABLES[t].when] for t in FIGURES[name].tables.values()
                    if t in TABLES and TABLES[t].when is not None and not _study_has(config, TABLES[t].when)})
    return [f"figures.{name}: this study draws no {name} figure (it needs {'; '.join(needs)}); remove its options"]


def check_config(config: Mapping) -> None:
    """Checks the schema cannot express; each error names the key at fault."""
    problems = []
    problems += _check_architectures(config)
    for model, spec in config["models"].items():
        if spec["frozen_share"] > 0 and spec["weights"] == "none":
            problems.append(f"models.{model}.frozen_share: {spec['frozen_share']} of the layers would be kept at "
                            f"their initial random weights; freezing needs pretrained weights (imagenet or zoobot)")
        if (spec["weights"] == "imagenet" and spec["architecture"] in ARCHITECTURES
                and not ARCHITECTURES[spec["architecture"]].has_weights):
            problems.append(f"models.{model}.weights: {spec['architecture']} has no ImageNet weights (a published "
                            "galaxy network); use weights: none")
        if spec["dropout"] is not None and not (spec["architecture"] in ARCHITECTURES
                                                and ARCHITECTURES[spec["architecture"]].dropout_option):
            problems.append(f"models.{model}.dropout: {spec['architecture']} has no dropout option (only "
                            f"{sorted(a for a, s in ARCHITECTURES.items() if s.dropout_option)})")
        if spec["weights"] == "zoobot" and not is_timm(spec["architecture"]):
            problems.append(f"models.{model}.weights: zoobot's encoders are timm models; set architecture to "
                            f"timm/<model> (e.g. timm/convnext_nano), not {spec['architecture']!r}")
    problems += _check_training(config)
    problems += _check_crop(config)
    problems += _check_budgets(config)
    problems += prediction_sets.check(config)
    problems += _check_epochs(config)
    if 1.0 not in train_fractions(config):
        problems.append(f"splits.train_fractions: {config['splits']['train_fractions']} lacks 1.0 (all the labels), "
                        "which every table of the study reads")
    if example_run(config) not in run_numbers(config):
        problems.append(f"analysis.example_run: run {example_run(config)} is not among the configured runs "
                        f"(splits.runs gives {run_numbers(config)[:3]}...)")
    for name, options in config["figures"].items():
        problems += check_options(name, options) or _check_figure_drawn(config, name)
    for key in MODEL_FIGURE_MODULES:
        if config[key] is not None and model_figure_run(config, key) not in run_numbers(config):
            problems.append(f"{key}.run: run {model_figure_run(config, key)} is not among the configured runs")
    if config["feature_maps"] is not None and config["feature_maps"]["class_name"] not in [None, *config["classes"]]:
        problems.append(f"feature_maps.class_name: {config['feature_maps']['class_name']!r} is not one of the classes "
                        f"{config['classes']}")
    if config["gradcam"] is not None:
        for model, spec in config["models"].items():
            if spec["architecture"] in ARCHITECTURES and ARCHITECTURES[spec["architecture"]].gradcam_layer is None:
                problems.append(f"gradcam: models.{model} is a {spec['architecture']}, which declares no Grad-CAM "
                                "layer (models/registry.py); set gradcam: null")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    check_data(config)


# --- the data rules ---------------------------------------------------------------------------


def catalog_inputs(config: Mapping) -> dict[str, str]:
    return data_kind(config).catalog_inputs(config, results_folder(config))


# --- tables -----------------------------------------------------------------------------------


def frozen_share_models(config: Mapping) -> list[str]:
    """Models that keep part of their ImageNet layers frozen (models.<m>.frozen_share > 0)."""
    return [model for model, spec in config["models"].items() if spec["frozen_share"] > 0]


def _study_has(config: Mapping, feature: str | None) -> bool:
    if feature is None:
        return True
    budgets = len(train_fractions(config)) > 1
    return {"pairs": lambda: bool(model_pairs(config)), "long_runs": lambda: bool(long_run_numbers(config)),
            "frozen_shares": lambda: bool(frozen_share_models(config)), "label_budgets": lambda: budgets,
            "label_budget_pairs": lambda: budgets and bool(model_pairs(config)),
            "test_sides": lambda: config["training"]["scale_jitter"] is not None,
            "zhu2019": lambda: bool(zhu2019.arms(config)),
            "zhu2019_ours": lambda: zhu2019.OWN_NETWORK in zhu2019.arms(config).values()}[feature]()


def table_names(config: Mapping) -> list[str]:
    """The tables this study makes: tables of paired comparisons or long runs only where it has them."""
    return [name for name, step in TABLES.items() if _study_has(config, step.when)]


def table_path(config: Mapping, name: str, suffix: str = "parquet") -> str:
    return f"{results_folder(config)}/tables/{name}.{suffix}"


def table_inputs(config: Mapping, name: str) -> dict[str, str]:
    """The table's inputs by its make() argument names: other tables, the catalog, the array store's image checks,
    the data kind's extras."""
    step = TABLES[name]
    results = results_folder(config)
    inputs = {key: f"{results}/{key}.parquet" if key in ("catalog", "image_checks") else table_path(config, key)
              for key in step.inputs}
    if step.data_inputs:
        inputs.update(data_kind(config).summary_inputs(config, results))
    return inputs


def _context(config: Mapping, needs) -> dict:
    """The context values a table's make() or a figure's draw() needs, computed from the config."""
    context = {
        "models": lambda: list(config["models"]),
        "class_names": lambda: list(config["classes"]),
        "run": lambda: example_run(config),
        "budgets": lambda: analysis_budgets(config),
        "pairs": lambda: model_pairs(config),
        "paper_arms": lambda: schneider2023.arms(config),
        "arms": lambda: {model: {key: spec[key] for key in ("architecture", "weights", "frozen_share")}
                         for model, spec in config["models"].items()},
        "fu_arms": lambda: fu.arms(config),
        "zhu_arms": lambda: zhu2019.arms(config),
        "split": lambda: split_settings(config),
    }
    return {need: context[need]() for need in needs}


def table_arguments(config: Mapping, name: str) -> dict:
    return _context(config, TABLES[name].needs)


# The tables of the label-budget axis (made only in studies with several train_fractions), from the registry.
LABEL_BUDGET_TABLES = frozenset(name for name, step in TABLES.items()
                                if step.when in ("label_budgets", "label_budget_pairs"))


def _about_label_budgets(name: str) -> bool:
    """A label-budget table, or a figure that reads one."""
    return name in LABEL_BUDGET_TABLES or (name in FIGURES and bool(set(FIGURES[name].tables.values()) &
                                                                    LABEL_BUDGET_TABLES))


def label_budget_note(config: Mapping) -> str:
    """What was run on the label-budget axis, for the captions of its tables and figure."""
    fractions = ", ".join(f"{f:g}" for f in sorted(train_fractions(config)))
    scaling = {"epochs": "the same epochs at every budget (fewer optimiser steps on fewer labels)",
               "steps": "the same optimiser steps at every budget (epochs of as many images as the whole "
                        "training set)"}[config["training"]["budget_scaling"]]
    return (f"Run here: {len(run_numbers(config))} runs per model, each trained on the shares {fractions} of its "
            f"training set (stratified by class, nested), with {scaling}; the test set is the run's own.")


# The papers a study may be the comparison of, each with arms(config), NOTES and CAPTION_CREDIT (papers/).
PAPERS = (schneider2023, fu, zhu2019)


def left_out_note(config: Mapping, name: str) -> str:
    """What the config leaves out of a table or figure, for its caption ("" where nothing is): budgets longer than
    a model trains (peak tables, Table 1), the budgets the budget-gain figure compares, and pairs without an
    equal-budget gain (a scratch model trained fewer epochs than its pretrained one)."""
    epochs = {model: spec["epochs"] for model, spec in config["models"].items()}
    notes = []
    if name in ("peak_accuracy", "table1_budgets"):
        groups = [(", ".join(m for m, e in epochs.items() if e == trained), trained)
                  for trained in sorted(set(epochs.values()))]
        if long_run_numbers(config):
            groups.append(("the long runs", config["long_runs"]["epochs"]))
        for runs, trained in groups:
            beyond = [b for b in config["analysis"]["budgets"] if b > trained]
            if beyond:
                notes.append(f"Budgets longer than {trained} epochs are left out of the {trained}-epoch runs of "
                             f"{runs}: {', '.join(map(str, beyond))}.")
    if name == "budget_gains":
        chosen = config["figures"].get("budget_gains", {}).get("budgets")
        budgets = chosen if chosen is not None else gain_budgets(analysis_budgets(config), list(epochs.values()))
        how = "figures.budget_gains.budgets" if chosen is not None else \
            "by default the two longest of analysis.budgets shorter than every model's epochs"
        notes.append(f"Budgets compared: {', '.join(map(str, budgets))} ({how})." if budgets else
                     f"No budget compared: none of analysis.budgets is shorter than every model's epochs ({how}).")
    if name in ("gains", "sign_tests", "equal_budget_gain"):
        for pretrained, scratch in model_pairs(config):
            if epochs[scratch] < epochs[pretrained]:
                notes.append(f"No equal-budget gain for {pretrained} - {scratch}: {scratch} trains {epochs[scratch]} "
                             f"epochs, fewer than {pretrained}'s {epochs[pretrained]}.")
    return "".join(" " + note for note in notes)


def _caption(config: Mapping, name: str, description: str) -> str:
    """A table's or figure's caption; a study's published numbers only in that study's comparison."""
    description += left_out_note(config, name)
    if _about_label_budgets(name):
        return f"{description} {label_budget_note(config)}"
    for paper in PAPERS:
        if name in paper.NOTES and paper.arms(config):
            return f"{description} {paper.NOTES[name]} ({paper.CAPTION_CREDIT}.)"
    return description


def table_caption(config: Mapping, name: str) -> str:
    return _caption(config, name, TABLES[name].description)


# --- figures ----------------------------------------------------------------------------------


def figure_names(config: Mapping) -> list[str]:
    """The figures this study draws: those whose tables it makes."""
    made = set(table_names(config)) | {"curves", "predictions"}
    return [name for name, spec in FIGURES.items() if set(spec.tables.values()) <= made]


def figure_inputs(config: Mapping, name: str) -> dict[str, str]:
    """The figure's tables by draw() argument, and its module's source (so editing it redraws the figure)."""
    spec = FIGURES[name]
    return {**{argument: table_path(config, table) for argument, table in spec.tables.items()},
            "module": spec.module_file}


def figure_arguments(config: Mapping, name: str) -> dict:
    """draw()'s context (models, class names, example run, pairs) plus the config's options for it."""
    return {**_context(config, FIGURES[name].context), **config["figures"].get(name, {})}


def figure_caption(config: Mapping, name: str) -> str:
    return _caption(config, name, FIGURES[name].description)


# --- Grad-CAM, first-layer filters and feature maps: figures of each model's best epoch in one run ---------

# Their drawing code is an input: editing it redraws the figures.
MODEL_FIGURE_MODULES = {"gradcam": str(Path(__file__).parent / "figures" / "inspection" / "gradcam.py"),
                        "feature_maps": str(Path(__file__).parent / "figures" / "inspection" / "feature_maps.py")}


def model_figure_run(config: Mapping, key: str) -> int:
    """The run whose best models the `key` figures (gradcam, feature_maps) draw: <key>.run, or the example run."""
    chosen = config[key]["run"]
    return int(chosen) if chosen is not None else example_run(config)


def model_figure_inputs(config: Mapping, key: str, model: str) -> dict[str, str]:
    """A `key` figure's inputs: the run's best model and predictions, the store, and the drawing code."""
    results = results_folder(config)
    run = f"{results}/runs/{model}/run{model_figure_run(config, key):03d}"
    return {"best_model": f"{run}/best.pt", "predictions": f"{run}/predictions.parquet",
            "store": f"{results}/images.npy", "module": MODEL_FIGURE_MODULES[key]}


def gradcam_paths(config: Mapping, model: str) -> list[str]:
    return [f"{results_folder(config)}/figures/gradcam/{model}.{suffix}" for suffix in ("png", "pdf")]


def gradcam_caption(config: Mapping, model: str) -> str:
    k = config["gradcam"]["galaxies_per_class"]
    return (f"Grad-CAM of {model} (run {model_figure_run(config, 'gradcam')}, its best epoch): the first {k} test "
            "galaxies of each class as the network sees them (its evaluation view), the heatmap of their true class "
            "at the layer the architecture registry names, and the two laid over each other. The label says what the "
            "network said.")


def feature_maps_paths(config: Mapping, model: str) -> list[str]:
    """first_layer_filters/<model>.png, .pdf, then feature_maps/<model>.png, .pdf."""
    return [f"{results_folder(config)}/figures/{figure}/{model}.{suffix}"
            for figure in ("first_layer_filters", "feature_maps") for suffix in ("png", "pdf")]


def feature_maps_captions(config: Mapping, model: str) -> dict[str, str]:
    options, run = config["feature_maps"], model_figure_run(config, "feature_maps")
    layers = options["layers"]
    which = (f"{layers} convolutions spread from the first to the last" if isinstance(layers, int)
             else "the layers " + ", ".join(layers))
    galaxy = (f"the first test galaxy of class {options['class_name']}" if options["class_name"] is not None
              else "the first test galaxy")
    return {
        "filters": f"First-layer filters of {model} (run {run}, its best epoch), each stretched to its own range.",
        "maps": (f"Feature maps of {model} (run {run}, its best epoch) for {galaxy} (by store row), as the network "
                 f"sees it: at {which}, the {options['maps_per_layer']} channels of largest mean absolute response, "
                 "each stretched to its own range, one-pixel maps against each other (Zhu et al. 2019, Figs. "
                 "10-13)."),
    }


def final_targets(config: Mapping) -> list[str]:
    """Every table (Parquet and CSV) and figure (PNG and PDF) of the study, its splits, and the best.pt of every run
    that keeps its best weights (config best_weights), so that a study switched to `best_weights: all` makes them."""
    results = results_folder(config)
    targets = [f"{results}/splits.parquet"]
    for group in training_groups(config):
        targets += group_outputs(config, group).get("best_model", [])
    for name in table_names(config):
        targets += [table_path(config, name), table_path(config, name, "csv")]
    for name in figure_names(config):
        targets += [f"{results}/figures/{name}.png", f"{results}/figures/{name}.pdf"]
    for model in config["models"]:
        if config["gradcam"] is not None:
            targets += gradcam_paths(config, model)
        if config["feature_maps"] is not None:
            targets += feature_maps_paths(config, model)
    targets += prediction_sets.targets(config)
    return targets
