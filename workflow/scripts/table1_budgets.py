import pandas as pd

from galaxy_pretraining.analysis import budget_table
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    table = budget_table(pd.read_parquet(snakemake.input[0]))
    write_table(table, snakemake.output.parquet)
    write_table(table, snakemake.output.csv)
