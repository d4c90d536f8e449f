import pandas as pd

from galaxy_pretraining.figures import test_accuracy_curves
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    test_accuracy_curves(pd.read_parquet(snakemake.input[0]), snakemake.params.models, snakemake.output[0])
