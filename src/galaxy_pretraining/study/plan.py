"""What a resolved config plans.

Its runs, training jobs and groups, and which tables and figures it makes.

Every fact is computed once per study (functools.cached_property) from the
resolved config, which the plan keeps and never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from ..figures import FIGURES
from ..papers import zhu2019
from ..predict import sets as prediction_sets
from ..tables import TABLES
from .jobs import TrainingGroup, TrainingJob, group_jobs

# The figures of one run's best models, each with its config key (null: not drawn).
MODEL_FIGURES = ("gradcam", "feature_maps")


class Plan:
    """The facts of a study that follow from its resolved config alone, each computed once."""

    def __init__(self, config: Mapping):
        self.config = config

    @cached_property
    def results(self) -> str:
        """results/<study>: every output of the study is below it."""
        return f"results/{self.config['study']}"

    @cached_property
    def runs(self) -> list[int]:
        """The standard runs (splits.runs: a count or a list of run numbers), in order."""
        runs = self.config["splits"]["runs"]
        return list(range(runs)) if isinstance(runs, int) else sorted(runs)

    @cached_property
    def long_runs(self) -> list[int]:
        """The long repeats (long_runs.runs), in order."""
        return sorted(self.config["long_runs"]["runs"])

    @cached_property
    def split_runs(self) -> list[int]:
        """Every run that needs a split: the standard runs and the long ones."""
        return sorted(set(self.runs) | set(self.long_runs))

    @cached_property
    def train_fractions(self) -> list[float]:
        """The label budgets, largest (1.0: all the labels) first."""
        return sorted((float(f) for f in self.config["splits"]["train_fractions"]), reverse=True)

    @cached_property
    def jobs(self) -> list[TrainingJob]:
        """Every (model, run) on all the labels, then on each smaller label budget, then the long runs."""
        jobs = []
        for model, spec in self.config["models"].items():
            for fraction in self.train_fractions:
                jobs += [TrainingJob(model, run, spec["epochs"], False, fraction) for run in self.runs]
            jobs += [TrainingJob(model, run, self.config["long_runs"]["epochs"], True, 1.0) for run in self.long_runs]
        return jobs

    @cached_property
    def jobs_by_name(self) -> dict[str, TrainingJob]:
        """Every job by its name (`<model>/run<NNN>...`)."""
        return {job.name: job for job in self.jobs}

    @cached_property
    def full_label_jobs(self) -> list[TrainingJob]:
        """The jobs on all the labels (standard and long): what the paper's tables and figures read."""
        return [job for job in self.jobs if job.fraction == 1.0]

    @cached_property
    def standard_full_label_jobs(self) -> list[TrainingJob]:
        """The standard runs on all the labels (no long runs).

        The ROC tables read their best-epoch predictions.
        """
        return [job for job in self.jobs if job.fraction == 1.0 and not job.long]

    @cached_property
    def label_budget_jobs(self) -> list[TrainingJob]:
        """The standard runs at every label budget (1.0 included): what the label-budget tables read."""
        return [job for job in self.jobs if not job.long]

    @cached_property
    def groups(self) -> list[TrainingGroup]:
        """The jobs cut into groups of train_resources.runs_per_job consecutive runs of one model and length.

        Each group is one Snakemake rule (train_<model>_run<first>_<last>, or
        train_<model>_run<NNN> for one run) that lists exactly its runs' outputs.
        """
        return group_jobs(self.jobs, self.config["train_resources"]["runs_per_job"])

    @cached_property
    def example_run(self) -> int:
        """The run drawn in the single-run figures: analysis.example_run, or the last run."""
        chosen = self.config["analysis"].get("example_run")
        return int(chosen) if chosen is not None else self.runs[-1]

    @cached_property
    def model_figure_runs(self) -> dict[str, int]:
        """The run whose best models each configured model figure draws: <key>.run, or the example run."""
        return {key: self.example_run if self.config[key]["run"] is None else int(self.config[key]["run"])
                for key in MODEL_FIGURES if self.config[key] is not None}

    @cached_property
    def kept_best_weights(self) -> frozenset[TrainingJob]:
        """The runs whose best weights are kept as best.pt.

        Those config key best_weights names, and the runs `predict` sets use.

        `all` keeps every run's; `figures` (the default) only those the Grad-CAM
        and feature-map figures draw: each model's standard run `<key>.run` (or
        the example run) on all the labels, when that figure is configured.
        The standard runs a prediction set uses keep theirs whatever best_weights says.
        Other runs keep their metrics and best-epoch predictions only.
        """
        if self.config["best_weights"] == "all":
            return frozenset(self.jobs)
        drawn = set(self.model_figure_runs.values())
        predicting = prediction_sets.kept_runs(self.config, self.runs)
        return frozenset(job for job in self.jobs if not job.long and job.fraction == 1
                         and (job.run in drawn or (job.model, job.run) in predicting))

    def keeps_best_weights(self, job: TrainingJob) -> bool:
        """Whether a run's best weights are kept as best.pt (kept_best_weights)."""
        return job in self.kept_best_weights

    @cached_property
    def prediction_sets(self) -> list[str]:
        """The configured prediction sets (config: predict), in config order."""
        return prediction_sets.set_names(self.config)

    def prediction_runs(self, name: str) -> list[int]:
        """The standard runs whose best weights classify prediction set `name`."""
        return prediction_sets.set_runs(self.config, name, self.runs)

    def prediction_jobs(self, name: str) -> list[TrainingJob]:
        """The training jobs whose best weights classify prediction set `name`.

        Standard runs on all the labels.
        """
        model, runs = self.config["predict"][name]["model"], set(self.prediction_runs(name))
        return [job for job in self.jobs if job.model == model and not job.long and job.fraction == 1 and job.run in runs]

    @cached_property
    def analysis_budgets(self) -> list[int]:
        """Budgets to read off the curves: the configured ones plus every model's epochs (equal-budget tests)."""
        return sorted(set(self.config["analysis"]["budgets"]) | {s["epochs"] for s in self.config["models"].values()})

    @cached_property
    def model_pairs(self) -> list[list[str]]:
        """[pretrained, scratch] model pairs: the same architecture with pretrained weights and without."""
        models = self.config["models"]
        return [[pretrained, scratch] for pretrained, spec in models.items() if spec["weights"] != "none"
                for scratch, other in models.items()
                if other["weights"] == "none" and other["architecture"] == spec["architecture"]]

    @cached_property
    def frozen_share_models(self) -> list[str]:
        """Models that keep part of their ImageNet layers frozen (models.<m>.frozen_share > 0)."""
        return [model for model, spec in self.config["models"].items() if spec["frozen_share"] > 0]

    @cached_property
    def features(self) -> frozenset[str]:
        """What this study has of the features some tables need (TableStep.when)."""
        budgets = len(self.train_fractions) > 1
        arms = zhu2019.arms(self.config)
        has = {"pairs": bool(self.model_pairs), "long_runs": bool(self.long_runs),
               "frozen_shares": bool(self.frozen_share_models), "label_budgets": budgets,
               "label_budget_pairs": budgets and bool(self.model_pairs),
               "test_sides": self.config["training"]["scale_jitter"] is not None,
               "zhu2019": bool(arms), "zhu2019_ours": zhu2019.OWN_NETWORK in arms.values()}
        return frozenset(feature for feature, present in has.items() if present)

    def has(self, feature: str | None) -> bool:
        """Whether the study has `feature` (None: every study has it)."""
        return feature is None or feature in self.features

    @cached_property
    def table_names(self) -> list[str]:
        """The tables this study makes: tables of paired comparisons or long runs only where it has them."""
        return [name for name, step in TABLES.items() if self.has(step.when)]

    @cached_property
    def figure_names(self) -> list[str]:
        """The figures this study draws: those whose tables it makes."""
        made = set(self.table_names) | {"curves", "predictions"}
        return [name for name, spec in FIGURES.items() if set(spec.tables.values()) <= made]
