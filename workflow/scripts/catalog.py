"""Rule catalog: the data kind's catalog of the study's classes, and the digest of its images."""

from galaxy_pretraining.data.image_digest import write_image_digest
from galaxy_pretraining.data.kinds import build_catalog
from galaxy_pretraining.io import write_table
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    write_table(build_catalog(snakemake.params.data, snakemake.params.classes, dict(snakemake.input)),
                snakemake.output.catalog)
    write_image_digest(snakemake.output.catalog, snakemake.output.image_digest)
