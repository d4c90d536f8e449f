"""Rule train: one job's group of runs (Protocols and RunPaths from params, the Machine from config)."""

import os

from galaxy_pretraining.training.stopping import stop_on_signals

# First, before torch's import: a time limit during the job's start-up is caught too (announced in SLURM's job log),
# and torch.compile's cache is chosen before torchvision's import writes torch's default into the environment.
with stop_on_signals(announce="SLURM_JOB_ID" in os.environ) as stop:
    from galaxy_pretraining.caches import use_compile_cache
    from galaxy_pretraining.errors import failure_record_path, job_fingerprint, not_retried
    from galaxy_pretraining.logs import log_to
    from galaxy_pretraining.training.spec import Machine, Protocol, RunPaths  # torch-free: before torch's import

    # A failure a retry cannot fix (errors.NotRetryable) fails this job's next attempt at once.
    fingerprint = job_fingerprint(snakemake.params.protocols, snakemake.input)
    with log_to(snakemake.log[0]), not_retried(failure_record_path(snakemake.log[0]), fingerprint):
        machine = Machine.from_config(snakemake.config, snakemake.threads)
        use_compile_cache(machine.compile_cache, machine.compile)
        from galaxy_pretraining.training.job import train_group

        train_group(
            [Protocol.from_params(p) for p in snakemake.params.protocols],
            [RunPaths.from_params(p) for p in snakemake.params.paths],
            machine,
            store_path=snakemake.input.store,
            catalog_path=snakemake.input.catalog,
            weights_path=snakemake.input.weights[0] if snakemake.input.weights else None,
            stop=stop,
        )
