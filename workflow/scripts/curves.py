# Every run's per-epoch metrics in one table.
from galaxy_pretraining.analysis import collect_curves
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    write_table(collect_curves(list(snakemake.input), snakemake.params.jobs, snakemake.params.max_iterations), snakemake.output[0])
