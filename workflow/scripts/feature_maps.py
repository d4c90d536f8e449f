"""One model's first-layer filters and one galaxy's feature maps per layer (best epoch, chosen run)."""

from galaxy_pretraining.figures.inspection.feature_maps import render
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    render(snakemake.input.best_model, snakemake.input.store, snakemake.input.predictions, snakemake.params.options,
           snakemake.wildcards.model, [snakemake.output.filters_png, snakemake.output.filters_pdf],
           [snakemake.output.maps_png, snakemake.output.maps_pdf])
