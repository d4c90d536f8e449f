"""The final targets of a study: what `snakemake` with no target makes."""

from __future__ import annotations

from ..predict import sets as prediction_sets
from .paths import StudyPaths
from .plan import Plan


def final_targets(plan: Plan, paths: StudyPaths) -> list[str]:
    """Every table and figure, the splits, every kept best.pt and every prediction set.

    Tables as Parquet and CSV, figures as PNG and PDF.

    The kept best.pt files (config best_weights) are targets so that a finished
    study switched to `best_weights: all` makes them: a file only a rule's
    output, asked for by nothing, Snakemake would never make.
    """
    targets = [paths.splits]
    targets += [paths.best_model(job) for job in plan.jobs if plan.keeps_best_weights(job)]
    for name in plan.table_names:
        targets += [paths.table(name), paths.table(name, "csv")]
    for name in plan.figure_names:
        targets += [paths.figure(name), paths.figure(name, "pdf")]
    for model in plan.config["models"]:
        if "gradcam" in plan.model_figure_runs:
            targets += paths.model_figures("gradcam", model)
        if "feature_maps" in plan.model_figure_runs:
            targets += paths.model_figures("first_layer_filters", model) + paths.model_figures("feature_maps", model)
    for name in plan.prediction_sets:
        targets.append(paths.set_predictions(name))
        if plan.config["predict"][name]["embeddings"]:
            targets.append(paths.set_embeddings(name))
        if prediction_sets.labelled(plan.config, name):
            targets += [paths.set_calibration(name), paths.set_reliability(name)]
    return targets
