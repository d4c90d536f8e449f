from galaxy_pretraining.logs import log_to
from galaxy_pretraining.mock import write_mock_sample

mock = snakemake.params.mock
with log_to(snakemake.log[0]):
    write_mock_sample(
        snakemake.output.catalog, snakemake.output.images, mock["n_galaxies"], mock.get("seed", 0),
        (mock.get("image_size_min", 80), mock.get("image_size_max", 128)),
    )
