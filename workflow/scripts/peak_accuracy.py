import pandas as pd

from galaxy_pretraining.analysis import peak_accuracy_table
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    curves = pd.read_parquet(snakemake.input[0])
    write_table(peak_accuracy_table(curves, snakemake.params.budgets), snakemake.output[0])
