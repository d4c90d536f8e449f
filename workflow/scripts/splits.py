"""Rule splits: every run's train, validation and test rows of the catalog."""

import pandas as pd

from galaxy_pretraining.data.splits import study_splits
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    catalog = pd.read_parquet(snakemake.input[0])
    write_table(study_splits(catalog, snakemake.params.runs, snakemake.params.splits), snakemake.output[0])
