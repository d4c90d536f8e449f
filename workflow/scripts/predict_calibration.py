"""A labelled prediction set's calibration: accuracy, confidence, ECE and NLL of its ensemble, and its bins."""

import pandas as pd

from galaxy_pretraining.analysis.calibration import prediction_set_calibration
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    write_table(prediction_set_calibration(pd.read_parquet(snakemake.input[0]), snakemake.params.classes),
                snakemake.output[0])
