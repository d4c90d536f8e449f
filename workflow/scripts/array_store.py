"""Rule array_store: decode, check and resize the catalog's images into one array store."""

import pandas as pd

from galaxy_pretraining.data.array_store import write_array_store
from galaxy_pretraining.data.catalog import stored_catalog
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    listed = pd.read_parquet(snakemake.input.catalog)
    checks = write_array_store(listed["image_path"].tolist(), snakemake.output.store, snakemake.params.size,
                               snakemake.threads, snakemake.params.crop, square=snakemake.params.square,
                               duplicates=snakemake.params.duplicates, screen=snakemake.params.screen,
                               ids=listed["id"].tolist())
    write_table(checks, snakemake.output.image_checks)
    write_table(stored_catalog(listed, checks), snakemake.output.catalog)
