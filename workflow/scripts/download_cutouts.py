"""Rule download_cutouts: the SDSS cutouts of Nair & Abraham's galaxies, and their manifest."""

import pandas as pd

from galaxy_pretraining.data.kinds.nair_abraham.sdss import CutoutSettings, download_cutouts
from galaxy_pretraining.data.kinds.nair_abraham.vizier import raw_to_ttype_table
from galaxy_pretraining.logs import log_to

settings = snakemake.params.settings
with log_to(snakemake.log[0]):
    galaxies = raw_to_ttype_table(pd.read_parquet(snakemake.input[0]), settings["columns"], settings["empty_ttype"])
    download_cutouts(galaxies, snakemake.params.image_dir, snakemake.output.manifest,
                     CutoutSettings.from_config(settings))
