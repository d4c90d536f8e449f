# Every standard run's best-epoch test predictions in one table.
from galaxy_pretraining.analysis import collect_predictions
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    write_table(collect_predictions(list(snakemake.input), snakemake.params.jobs), snakemake.output[0])
