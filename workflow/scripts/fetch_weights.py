"""Rule fetch_weights: one architecture's pretrained weights file."""

from galaxy_pretraining.logs import log_to
from galaxy_pretraining.models.weights import fetch_weights

with log_to(snakemake.log[0]):
    architecture, weights = snakemake.params.source
    fetch_weights(architecture, snakemake.output[0], snakemake.params.mirror, weights, snakemake.params.hub_endpoint)
