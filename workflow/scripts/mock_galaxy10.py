"""Rule mock_galaxy10: a small mock Galaxy10 DECaLS file."""

from galaxy_pretraining.data.kinds.galaxy10_decals.galaxy10 import write_mock_galaxy10
from galaxy_pretraining.logs import log_to

mock = snakemake.params.mock
with log_to(snakemake.log[0]):
    write_mock_galaxy10(snakemake.output[0], mock["n_galaxies"], mock["seed"], mock["image_size"])
