from galaxy_pretraining.logs import log_to
from galaxy_pretraining.models import fetch_weights

with log_to(snakemake.log[0]):
    fetch_weights(snakemake.params.architecture, snakemake.output[0], snakemake.params.mirror)
