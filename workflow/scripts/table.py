"""One table of the registry (galaxy_pretraining.tables.TABLES), as Parquet and CSV."""

from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to
from galaxy_pretraining.tables import make_table

with log_to(snakemake.log[0]):
    table = make_table(snakemake.wildcards.table, dict(snakemake.input), dict(snakemake.params.arguments))
    write_table(table, snakemake.output.parquet)
    write_table(table, snakemake.output.csv)
