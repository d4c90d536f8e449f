import os

from galaxy_pretraining.training.stopping import stop_on_signals

# First, before torch's import: a time limit during the job's start-up is caught too (announced in SLURM's job log),
# and torch.compile's cache is chosen before torchvision's import writes torch's default into the environment.
with stop_on_signals(announce="SLURM_JOB_ID" in os.environ) as stop:
    from galaxy_pretraining.caches import use_compile_cache
    from galaxy_pretraining.errors import failure_record_path, job_fingerprint, not_retried
    from galaxy_pretraining.logs import log_to

    # A failure a retry cannot fix (errors.NotRetryable) fails this job's next attempt at once.
    fingerprint = job_fingerprint([snakemake.params.settings, snakemake.params.classes], snakemake.input)
    with log_to(snakemake.log[0]), not_retried(failure_record_path(snakemake.log[0]), fingerprint):
        use_compile_cache(snakemake.config["train_resources"]["compile_cache"], snakemake.config["training"]["compile"])
        from galaxy_pretraining.study import job_settings
        from galaxy_pretraining.training.run import run_outputs, train_group

        train_group(
            job_settings(snakemake.params.settings, snakemake.config),
            store_path=snakemake.input.store,
            catalog_path=snakemake.input.catalog,
            outputs=run_outputs(snakemake.output.metrics, snakemake.output.predictions,
                                snakemake.output.get("best_model", [])),
            weights_path=snakemake.input.weights[0] if snakemake.input.weights else None,
            class_names=snakemake.params.classes,
            threads=snakemake.threads,
            stop=stop,
            tensorboard=snakemake.config["tensorboard"],
        )
