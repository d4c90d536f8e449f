"""A prediction set's array store, image checks and catalog of the galaxies it kept (the study's store settings)."""

import pandas as pd

from galaxy_pretraining.logs import log_to
from galaxy_pretraining.predict.catalog import build_set_store

with log_to(snakemake.log[0]):
    build_set_store(snakemake.wildcards.prediction_set, snakemake.params.store, pd.read_parquet(snakemake.input.listed),
                    snakemake.input.study_catalog, snakemake.output.catalog, snakemake.output.store,
                    snakemake.output.image_checks, snakemake.threads)
