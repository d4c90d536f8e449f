"""Rule mock_sample: a mock catalog and its synthetic galaxy images."""

from galaxy_pretraining.data.synthetic import write_mock_sample
from galaxy_pretraining.logs import log_to

mock = snakemake.params.mock
with log_to(snakemake.log[0]):
    write_mock_sample(snakemake.output.catalog, snakemake.output.images, mock["n_galaxies"], mock["seed"],
                      (mock["image_size_min"], mock["image_size_max"]))
