from galaxy_pretraining.catalog import build_catalog
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    catalog = build_catalog(snakemake.params.data, snakemake.params.classes, dict(snakemake.input),
                            snakemake.params.image_dir)
    write_table(catalog, snakemake.output[0])
