"""A prediction set classified by its runs' best weights over its views: predictions (and embeddings)."""

from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    from galaxy_pretraining.predict.ensemble import predict_set
    from galaxy_pretraining.predict.sets import batch_size
    from galaxy_pretraining.training.spec import Machine

    name = snakemake.params.name
    # batch size and device are read when the job starts, never params: changing them reruns nothing
    machine = Machine.from_config(snakemake.config, snakemake.threads)
    predict_set(name, snakemake.params.prediction, snakemake.input.catalog, snakemake.input.store,
                list(snakemake.input.best_models), dict(snakemake.output.items()),
                batch_size(snakemake.config, name), machine.device, machine.threads)
