import pandas as pd

from galaxy_pretraining.logs import log_to
from galaxy_pretraining.sdss import download_cutouts

with log_to(snakemake.log[0]):
    download_cutouts(pd.read_parquet(snakemake.input[0]), snakemake.params.image_dir,
                     snakemake.output.manifest, snakemake.params.settings)
