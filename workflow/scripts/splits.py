import pandas as pd

from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to
from galaxy_pretraining.splits import make_splits

settings = snakemake.params.splits
with log_to(snakemake.log[0]):
    catalog = pd.read_parquet(snakemake.input[0])
    splits = make_splits(catalog["id"], snakemake.params.runs, settings["test_size"], settings["seed"],
                         settings["validation_size"])
    write_table(splits, snakemake.output[0])
