"""A labelled prediction set's calibration: accuracy, confidence, ECE and NLL of its ensemble, its bins and diagram."""

import pandas as pd

from galaxy_pretraining.analysis.calibration import prediction_set_calibration
from galaxy_pretraining.figures.reliability_diagrams import write_set_diagram
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    calibration = prediction_set_calibration(pd.read_parquet(snakemake.input[0]), snakemake.params.classes)
    write_table(calibration, snakemake.output.table)
    prediction = snakemake.params.prediction
    write_set_diagram(calibration, snakemake.output.figure, snakemake.wildcards.prediction_set, prediction["model"],
                      prediction["runs"], prediction["views"])
