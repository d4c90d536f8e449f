import pandas as pd

from galaxy_pretraining.data.array_store import write_array_store
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    catalog = pd.read_parquet(snakemake.input.catalog)
    write_array_store(catalog["image_path"].tolist(), snakemake.output[0], snakemake.params.size, snakemake.threads,
                      snakemake.params.crop)
