from galaxy_pretraining.logs import log_to
from galaxy_pretraining.train import TrainSettings, train_run

with log_to(snakemake.log[0]):
    train_run(
        TrainSettings(**snakemake.params.settings),
        store_path=snakemake.input.store,
        catalog_path=snakemake.input.catalog,
        metrics_path=snakemake.output.metrics,
        predictions_path=snakemake.output.predictions,
        best_model_path=snakemake.output.best_model,
        weights_path=snakemake.input.weights[0] if snakemake.input.weights else None,
        class_names=snakemake.params.classes,
        threads=snakemake.threads,
    )
