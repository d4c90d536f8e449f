# Every run's per-epoch metrics in one table; for `curves`, also every standard run's best-epoch predictions.
from galaxy_pretraining.analysis.curves import collect_curves
from galaxy_pretraining.analysis.roc import collect_predictions
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    curves = collect_curves(list(snakemake.input.metrics), snakemake.params.jobs, snakemake.params.max_iterations)
    write_table(curves, snakemake.output.curves)
    if "predictions" in snakemake.output.keys():
        predictions = collect_predictions(list(snakemake.input.predictions), snakemake.params.prediction_jobs)
        write_table(predictions, snakemake.output.predictions)
