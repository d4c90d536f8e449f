"""Every run's metrics per epoch in one table; for `curves`, also the standard runs' best predictions."""

# params.runs: {job name: {metrics, predictions, key}} (study.curve_runs): each run's files and key go together.
from galaxy_pretraining.analysis.curves import collect_curves
from galaxy_pretraining.analysis.roc import collect_predictions
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    runs = list(snakemake.params.runs.values())
    curves = collect_curves([run["metrics"] for run in runs], [run["key"] for run in runs],
                            snakemake.params.max_iterations)
    write_table(curves, snakemake.output.curves)
    if "predictions" in snakemake.output.keys():
        runs = list(snakemake.params.prediction_runs.values())
        predictions = collect_predictions([run["predictions"] for run in runs], [run["key"] for run in runs])
        write_table(predictions, snakemake.output.predictions)
