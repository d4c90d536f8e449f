"""A prediction set's catalog (the galaxies its table lists) and the digest that stands for its image files."""

from galaxy_pretraining.data.image_digest import write_image_digest
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to
from galaxy_pretraining.predict.catalog import set_catalog

with log_to(snakemake.log[0]):
    store = snakemake.params.store
    write_table(set_catalog(snakemake.wildcards.prediction_set, store["images"], store["classes"]),
                snakemake.output.catalog)
    write_image_digest(snakemake.output.catalog, snakemake.output.image_digest)
