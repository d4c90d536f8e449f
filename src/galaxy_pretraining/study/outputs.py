"""The inputs and arguments of a study's tables and figures.

Also those of the figures of one run's best models.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..data.kinds import data_kind
from ..figures import FIGURES
from ..papers import fu, schneider2023, zhu2019
from ..tables import FILES, TABLES
from .jobs import TrainingJob
from .paths import StudyPaths
from .plan import Plan
from .settings import split_settings

# The drawing code of the model figures is an input: editing it redraws them.
MODEL_FIGURE_MODULES = {key: str(Path(__file__).parents[1] / "figures" / "inspection" / f"{key}.py")
                        for key in ("gradcam", "feature_maps")}


def table_inputs(plan: Plan, paths: StudyPaths, name: str) -> dict[str, str]:
    """A table's inputs by its make() argument names.

    Other tables, files of the store, and the data kind's extras.
    """
    step = TABLES[name]
    inputs = {key: f"{plan.results}/{key}.parquet" if key in FILES else paths.table(key) for key in step.inputs}
    if step.data_inputs:
        inputs.update(data_kind(plan.config).summary_inputs(plan.config, plan.results))
    return inputs


def context(plan: Plan, needs: Iterable[str]) -> dict:
    """The context values a table's make() or a figure's draw() needs (tables.CONTEXT), from the plan."""
    config = plan.config
    values = {
        "models": lambda: list(config["models"]),
        "class_names": lambda: list(config["classes"]),
        "run": lambda: plan.example_run,
        "budgets": lambda: plan.analysis_budgets,
        "pairs": lambda: plan.model_pairs,
        "paper_arms": lambda: schneider2023.arms(config),
        "arms": lambda: {model: {key: spec[key] for key in ("architecture", "weights", "frozen_share")}
                         for model, spec in config["models"].items()},
        "fu_arms": lambda: fu.arms(config),
        "zhu_arms": lambda: zhu2019.arms(config),
        "split": lambda: split_settings(config),
    }
    return {need: values[need]() for need in needs}


def figure_inputs(paths: StudyPaths, name: str) -> dict[str, str]:
    """A figure's tables by draw() argument, and its module's source (so editing it redraws the figure)."""
    spec = FIGURES[name]
    return {**{argument: paths.table(table) for argument, table in spec.tables.items()}, "module": spec.module_file}


def figure_arguments(plan: Plan, name: str) -> dict:
    """draw()'s context (models, class names, example run, pairs) plus the config's options for it."""
    return {**context(plan, FIGURES[name].context), **plan.config["figures"].get(name, {})}


def model_figure_inputs(plan: Plan, paths: StudyPaths, key: str, model: str) -> dict[str, str]:
    """A `key` figure's inputs (gradcam, feature_maps).

    The run's best model and predictions, the store and the code.
    """
    job = plan.jobs_by_name[f"{model}/run{plan.model_figure_runs[key]:03d}"]
    return {"best_model": paths.best_model(job), "predictions": paths.predictions(job), "store": paths.store,
            "module": MODEL_FIGURE_MODULES[key]}


def curve_runs(paths: StudyPaths, jobs: Iterable[TrainingJob]) -> dict[str, dict]:
    """The runs a curves rule gathers, by job name: each one's metrics and predictions and its key.

    The key is what the curves table records beside the run's metrics:
    [model, run, epochs, long_run, train_fraction] (analysis.curves.collect_curves).
    """
    return {job.name: {"metrics": paths.metrics(job), "predictions": paths.predictions(job),
                       "key": [job.model, job.run, job.epochs, job.long, job.fraction]} for job in jobs}
