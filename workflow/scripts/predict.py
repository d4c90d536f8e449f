# A prediction set classified by its runs' best weights over its views: predictions (and embeddings).
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    from galaxy_pretraining.predict.ensemble import predict_set

    name = snakemake.params.name
    predict_set(name, snakemake.params.prediction, snakemake.input.catalog, snakemake.input.store,
                list(snakemake.input.best_models), snakemake.output.predictions,
                snakemake.output.get("embeddings"), snakemake.config["predict"][name]["batch_size"],
                snakemake.config["training"]["device"], snakemake.threads)
